/**
 * Check 4, the committed JSON Schema: `docs/schemas/directive.schema.json`
 * equals the schema generated from the zod contract now, byte for byte, so the
 * file other tools read never lags the contract.
 *
 * @module
 */
import { readOptionalText } from "./source_files.ts";
import { DIRECTIVE_SCHEMA_PATH } from "../models/directive_json_schema.ts";
import type { Violation } from "./violation.ts";

/**
 * Compares the committed text (undefined when the file is missing) with the
 * freshly generated one. Pure.
 */
export function checkJsonSchemaFreshness(
  committed: string | undefined,
  generated: string,
): Violation[] {
  if (committed === generated) return [];
  return [{
    path: DIRECTIVE_SCHEMA_PATH,
    line: 1,
    col: 1,
    message: committed === undefined
      ? "the directive JSON Schema is missing: run `deno task schemas` and commit the result"
      : "the directive JSON Schema is stale: it differs from the zod contract in " +
        "src/models/directive.ts; run `deno task schemas` and commit the result",
  }];
}

/** Reads `<root>/docs/schemas/directive.schema.json`; undefined when it does not exist. */
export function readCommittedJsonSchema(root: string): Promise<string | undefined> {
  return readOptionalText(root, DIRECTIVE_SCHEMA_PATH);
}
