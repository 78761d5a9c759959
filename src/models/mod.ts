/**
 * zod schemas and inferred types for every record Keel stores and every
 * create-input. Imports zod only.
 *
 * @module
 */
export * from "./statuses.ts";
export * from "./directive_row.ts";
export * from "./governance_rows.ts";
export * from "./execution_rows.ts";
export * from "./observation_rows.ts";
export * from "./tables.ts";
export { type ColumnSpec, columnSpec, pgColumns } from "./_pg.ts";
export * from "./directive.ts";
export * from "./json_path.ts";
export * from "./decimal.ts";
export * from "./permissions.ts";
