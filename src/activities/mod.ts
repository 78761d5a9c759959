/**
 * Activities: thin adapters over the modules in `src/`, built by one factory
 * that receives every dependency.
 *
 * @module
 */
import type { Sql } from "../db/mod.ts";
import { createPingActivities } from "./ping.ts";

/** What the activities need from the process that hosts them. */
export interface ActivityDeps {
  /** The application's database client. */
  readonly sql: Sql;
}

/** Builds every activity the worker registers. */
export function createActivities(deps: ActivityDeps) {
  return { ...createPingActivities(deps) };
}

/** Every activity, for `proxyActivities` in workflow code. */
export type Activities = ReturnType<typeof createActivities>;
