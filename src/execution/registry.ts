import type { ExecutionModule } from "./module.ts";
import { noopModule } from "./modules/noop.ts";
import { echoModule } from "./modules/echo.ts";
import { failIntentionallyModule } from "./modules/fail_intentionally.ts";
import { FORK_MODULES } from "./modules/mod.ts";

/** Thrown when no module serves a directive type. */
export class UnknownModuleError extends Error {
  /** Creates the error. */
  constructor(type: string, known: readonly string[], options?: ErrorOptions) {
    super(`No execution module serves type "${type}"; registered: ${known.join(", ")}`, options);
    this.name = "UnknownModuleError";
  }
}

/** Selects the execution module by directive type. */
export interface ModuleRegistry {
  /** Registered types, sorted. */
  types(): readonly string[];
  /** The module for `type`; throws {@linkcode UnknownModuleError}. */
  get(type: string): ExecutionModule;
}

/** Builds a registry; refuses two modules for one type. */
export function createRegistry(modules: readonly ExecutionModule[]): ModuleRegistry {
  const byType = new Map<string, ExecutionModule>();
  for (const module of modules) {
    if (!/^[a-z][a-z0-9_]{0,62}$/.test(module.type)) {
      throw new TypeError(`Module type "${module.type}" is not snake_case`);
    }
    if (byType.has(module.type)) {
      throw new TypeError(`Two execution modules claim type "${module.type}"`);
    }
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
  };
}

/** The modules Keel ships. */
export const SHIPPED_MODULES: readonly ExecutionModule[] = [
  noopModule,
  echoModule,
  failIntentionallyModule,
];

/**
 * Every module the worker serves: Keel's own plus a fork's, which are listed
 * in `src/execution/modules/mod.ts` (the registration point; see docs/handoff.md).
 */
export const BUILTIN_MODULES: readonly ExecutionModule[] = [...SHIPPED_MODULES, ...FORK_MODULES];
