/**
 * Working memory: a bounded per-directive scratchpad that a module reads and
 * writes through its host API, kept append-only with the directive's record.
 *
 * @module
 */
export * from "./store.ts";
export * from "./local.ts";
