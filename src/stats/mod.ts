/**
 * Aggregates for the dashboard's overview: bounded windows of whole UTC
 * days, bounded rows, read-only queries.
 *
 * @module
 */
export * from "./window.ts";
export * from "./overview.ts";
