/**
 * The plug-in registration point for execution modules. A fork adds its own
 * modules to {@linkcode FORK_MODULES} and edits nothing else under
 * `src/execution/`: the worker, the CLI, `deno task schemas` and
 * `deno task validate` all read the registry built from this list. See
 * `docs/handoff.md`, "Add an execution module".
 *
 * @module
 */
import type { ExecutionModule } from "../module.ts";

/** Modules a fork adds next to the ones Keel ships. Append yours; keep the list sorted. */
export const FORK_MODULES: readonly ExecutionModule[] = [];
