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
export * from "./dispatch.ts";
export * from "./runs.ts";
