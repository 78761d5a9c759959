import { z } from "zod";
import { DECIMAL_PATTERN } from "./decimal.ts";

/** Column metadata attached to zod schemas, read by validate's drift check. */
export interface PgColumnMeta {
  /** The column type as Postgres' `format_type()` prints it, e.g. `numeric(18,4)`. */
  readonly pg: string;
}

/** The registry of column types; validate compares it with the live catalog. */
export const pgColumns: z.core.$ZodRegistry<PgColumnMeta> = z.registry<PgColumnMeta>();

/** Tags `schema` with the Postgres column type it maps to. */
export function pg<T extends z.ZodType>(type: string, schema: T): T {
  pgColumns.add(schema, { pg: type });
  return schema;
}

/** Column description derived from a zod field: type and nullability. */
export interface ColumnSpec {
  /** The Postgres type, or `undefined` when the field carries no tag. */
  readonly pg: string | undefined;
  /** Whether the column may hold NULL. */
  readonly nullable: boolean;
}

/** Reads the column spec of one field of a row schema. */
export function columnSpec(field: z.ZodType): ColumnSpec {
  if (field instanceof z.ZodNullable) {
    return { pg: columnSpec(field.unwrap() as z.ZodType).pg, nullable: true };
  }
  return { pg: pgColumns.get(field)?.pg, nullable: false };
}

/** Column helpers shared by the row schemas. */
export const col = {
  uuid: (): z.ZodUUID => pg("uuid", z.uuid()),
  text: (max: number, min = 1): z.ZodString => pg("text", z.string().min(min).max(max)),
  textArray: (): z.ZodArray<z.ZodString> => pg("text[]", z.array(z.string())),
  slug: (): z.ZodString => pg("text", z.string().regex(/^[a-z][a-z0-9_]{0,62}$/)),
  decimal: (): z.ZodString => pg("numeric(18,4)", z.string().regex(DECIMAL_PATTERN)),
  integer: (): z.ZodNumber => pg("integer", z.number().int()),
  bigintId: (): z.ZodString => pg("bigint", z.string().regex(/^\d+$/)),
  /**
   * A non-negative `bigint` read as a JS number. postgres.js returns int8 as a
   * string, so digit strings are accepted and converted; values beyond 2^53 are refused.
   */
  bigintCount: (): z.ZodPipe<
    z.ZodUnion<readonly [z.ZodNumber, z.ZodPipe<z.ZodString, z.ZodTransform<number, string>>]>,
    z.ZodNumber
  > =>
    pg(
      "bigint",
      z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]).pipe(
        z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
      ),
    ),
  float: (): z.ZodNumber => pg("double precision", z.number()),
  floatArray: (): z.ZodArray<z.ZodNumber> => pg("double precision[]", z.array(z.number())),
  boolean: (): z.ZodBoolean => pg("boolean", z.boolean()),
  timestamp: (): z.ZodDate => pg("timestamp with time zone", z.date()),
  sha256: (): z.ZodString => pg("character(64)", z.string().regex(/^[0-9a-f]{64}$/)),
  currency: (): z.ZodString => pg("character(3)", z.string().regex(/^[A-Z]{3}$/)),
  bytes: (): z.ZodCustom<Uint8Array> =>
    pg("bytea", z.custom<Uint8Array>((value) => value instanceof Uint8Array, "expected bytes")),
  jsonObject: (): z.ZodRecord<z.ZodString, z.ZodUnknown> =>
    pg("jsonb", z.record(z.string(), z.unknown())),
  json: (): z.ZodUnknown => pg("jsonb", z.unknown()),
};
