import type {
  ExecutionModule,
  ModuleContext,
  ModuleInput,
  ModulePermissions,
  ModuleResult,
} from "./module.ts";
import { serveIfSandboxed } from "./sandbox/_guest.ts";

/** What a module's author writes; {@linkcode defineModule} fills in the defaults. */
export interface ModuleSpec {
  /** The directive type it serves, snake_case. */
  readonly type: string;
  /** One line on what it does. */
  readonly description: string;
  /** `import.meta.url` of the defining file: the file the sandbox runs. */
  readonly entry: string;
  /** What it may touch; default: nothing. */
  readonly permissions?: ModulePermissions;
  /** Whether a repeat is harmless (for every payload, or per payload); default `false`. */
  readonly retrySafe?: boolean | ((payload: Readonly<Record<string, unknown>>) => boolean);
  /** Worst-case cost of one run, a decimal (or per payload); default `"0"`. */
  readonly worstCase?: string | ((payload: Readonly<Record<string, unknown>>) => string);
  /** The `host:port` entries a run will contact, for the policy's allow-list; default none. */
  readonly targets?: (payload: Readonly<Record<string, unknown>>) => readonly string[];
  /** The action. */
  execute(input: ModuleInput, context: ModuleContext): Promise<ModuleResult>;
}

/**
 * Declares an execution module. Called at the top level of the module's own
 * file, which is also what the sandbox runs: run as the process the
 * host started for this type, the same call begins serving runs.
 * Keep the file's imports small: everything it imports is loaded into every
 * module process.
 *
 * @example
 * ```ts
 * export const pingModule = defineModule({
 *   type: "ping",
 *   description: "answers pong",
 *   entry: import.meta.url,
 *   execute: () => Promise.resolve({
 *     status: "SUCCESS", result: "pong", message: "pong", artifacts: [], budgetConsumed: "0",
 *   }),
 * });
 * ```
 */
export function defineModule(spec: ModuleSpec): ExecutionModule {
  const retrySafe = spec.retrySafe ?? false;
  const worstCase = spec.worstCase ?? "0";
  const module: ExecutionModule = {
    type: spec.type,
    description: spec.description,
    entry: spec.entry,
    permissions: spec.permissions ?? {},
    retrySafe: typeof retrySafe === "function" ? retrySafe : () => retrySafe,
    worstCase: typeof worstCase === "function" ? worstCase : () => worstCase,
    targets: spec.targets ?? (() => []),
    execute: spec.execute,
  };
  serveIfSandboxed(module);
  return module;
}
