import type { ExecutionModule } from "./module.ts";
import { noopModule } from "./modules/noop.ts";
import { echoModule } from "./modules/echo.ts";
import { failIntentionallyModule } from "./modules/fail_intentionally.ts";
import { httpRequestModule } from "./modules/http_request.ts";
import { llmGenerateModule } from "./modules/llm_generate.ts";
import { FORK_MODULES } from "./modules/mod.ts";

/** Thrown when no module serves a directive type. */
export class UnknownModuleError extends Error {
  /** Creates the error. */
  constructor(type: string, known: readonly string[], options?: ErrorOptions) {
    super(`No execution module serves type "${type}"; registered: ${known.join(", ")}`, options);
    this.name = "UnknownModuleError";
  }
}

/** Thrown when a module declares a permission the host process does not hold. */
export class ModulePermissionError extends Error {
  /** The module's type. */
  readonly moduleType: string;
  /** Creates the error. */
  constructor(moduleType: string, what: string, options?: ErrorOptions) {
    super(
      `Refusing to register module "${moduleType}": it declares ${what}, which this process ` +
        `does not hold (widen its permission set in deno.json, or narrow the declaration)`,
      options,
    );
    this.name = "ModulePermissionError";
    this.moduleType = moduleType;
  }
}

/** Answers whether the host process holds a permission (`Deno.permissions.querySync` shape). */
export type PermissionQuery = (descriptor: Deno.PermissionDescriptor) => boolean;

/** The host process's own permissions, as Deno reports them. */
export const hostPermissions: PermissionQuery = (descriptor) =>
  Deno.permissions.querySync(descriptor).state === "granted";

/**
 * Refuses a module whose declared permissions are not all held by the host:
 * a module's process may get nothing the worker itself was not trusted with,
 * and a module must not learn at run time that it cannot work.
 *
 * @throws {ModulePermissionError} naming the first permission missing.
 */
export function checkDeclaredPermissions(module: ExecutionModule, held: PermissionQuery): void {
  const { net = [], read = [], write = [], env = [] } = module.permissions;
  for (const host of net) {
    if (!held({ name: "net", host })) throw new ModulePermissionError(module.type, `net "${host}"`);
  }
  for (const path of read) {
    if (!held({ name: "read", path })) {
      throw new ModulePermissionError(module.type, `read "${path}"`);
    }
  }
  for (const path of write) {
    if (!held({ name: "write", path })) {
      throw new ModulePermissionError(module.type, `write "${path}"`);
    }
  }
  for (const variable of env) {
    if (!held({ name: "env", variable })) {
      throw new ModulePermissionError(module.type, `env "${variable}"`);
    }
  }
}

/** Selects the execution module by directive type. */
export interface ModuleRegistry {
  /** Registered types, sorted. */
  types(): readonly string[];
  /** The module for `type`; throws {@linkcode UnknownModuleError}. */
  get(type: string): ExecutionModule;
  /** The module for `type`, or `undefined` when none serves it. */
  find(type: string): ExecutionModule | undefined;
}

/**
 * Builds a registry; refuses two modules for one type, and, given `held`, a
 * module that declares a permission the host does not hold.
 */
export function createRegistry(
  modules: readonly ExecutionModule[],
  options: { held?: PermissionQuery } = {},
): ModuleRegistry {
  const byType = new Map<string, ExecutionModule>();
  for (const module of modules) {
    if (!/^[a-z][a-z0-9_]{0,62}$/.test(module.type)) {
      throw new TypeError(`Module type "${module.type}" is not snake_case`);
    }
    if (byType.has(module.type)) {
      throw new TypeError(`Two execution modules claim type "${module.type}"`);
    }
    if (options.held) checkDeclaredPermissions(module, options.held);
    byType.set(module.type, module);
  }
  const types = [...byType.keys()].sort();
  return {
    types: () => types,
    get(type) {
      const module = byType.get(type);
      if (!module) throw new UnknownModuleError(type, types);
      return module;
    },
    find: (type) => byType.get(type),
  };
}

/** The modules Keel ships. */
export const SHIPPED_MODULES: readonly ExecutionModule[] = [
  noopModule,
  echoModule,
  failIntentionallyModule,
  httpRequestModule,
  llmGenerateModule,
];

/**
 * Every module the worker serves: Keel's own plus a fork's, which are listed
 * in `src/execution/modules/mod.ts` (the registration point; see docs/handoff.md).
 */
export const BUILTIN_MODULES: readonly ExecutionModule[] = [...SHIPPED_MODULES, ...FORK_MODULES];
