/**
 * Execution: the module interface, the registry that selects a module by
 * directive type, and the stub modules.
 *
 * @module
 */
export * from "./module.ts";
export * from "./registry.ts";
export { noopModule } from "./modules/noop.ts";
export { echoModule } from "./modules/echo.ts";
export { failIntentionallyModule, IntentionalFailureError } from "./modules/fail_intentionally.ts";
export { httpRequestModule } from "./modules/http_request.ts";
export * from "./dispatch.ts";
export * from "./runs.ts";
export * from "./define.ts";
export * from "./execute.ts";
export {
  createSandbox,
  permissionFlags,
  type Sandbox,
  type SandboxEnding,
  type SandboxOptions,
  type SandboxRunOptions,
} from "./sandbox/host.ts";
