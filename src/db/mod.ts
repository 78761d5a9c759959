/**
 * The data layer: one injected `sql` client, a transaction helper, clean
 * shutdown and the migration runner.
 *
 * @module
 */
export * from "./client.ts";
export * from "./migrate.ts";
export * from "./reachable.ts";
