/**
 * The directive contract as a JSON Schema (draft 2020-12), generated from the
 * zod contract ({@linkcode createDirectiveSchema}) so editors and other
 * languages can check a directive document before it is submitted.
 *
 * The schema describes the document as written (`io: "input"`): a timebox may
 * be whole seconds or a duration string, a budget amount a number or a decimal
 * string. Rules zod cannot express in JSON Schema are added by hand, each
 * against a shape this module checks, so a change in the contract fails loudly
 * instead of producing a silently wrong schema:
 *
 * - `type` is an `enum` of the registered module types;
 * - a timebox in whole seconds lies in 1..{@linkcode DIRECTIVE_LIMITS}.timeboxMaxSeconds;
 * - a budget amount given as a number is greater than zero.
 *
 * Refinements that remain (no blank text, no NUL, payload size and depth, a
 * string amount greater than zero, a duration within 24h) are stated in the
 * descriptions; `parseDirective` stays the authority.
 *
 * @module
 */
import { z } from "zod";
import { createDirectiveSchema, DIRECTIVE_LIMITS } from "./directive.ts";

/** The schema's `$id`. */
export const DIRECTIVE_SCHEMA_ID = "https://keel.dev/schemas/directive.schema.json";

/** Where the generated schema is committed, relative to the repository root. */
export const DIRECTIVE_SCHEMA_PATH = "docs/schemas/directive.schema.json";

/** A JSON Schema object, as plain JSON. */
export type JsonSchema = { [keyword: string]: unknown };

/** Keywords in the order they are written; any other keyword follows, alphabetically. */
const KEYWORD_ORDER = [
  "$schema",
  "$id",
  "title",
  "description",
  "type",
  "enum",
  "const",
  "pattern",
  "minLength",
  "maxLength",
  "minimum",
  "exclusiveMinimum",
  "maximum",
  "exclusiveMaximum",
  "minItems",
  "maxItems",
  "items",
  "propertyNames",
  "properties",
  "required",
  "additionalProperties",
  "anyOf",
  "oneOf",
  "allOf",
  "default",
];

/** Keywords whose value maps names to schemas: their keys keep the contract's order. */
const NAME_MAPS = new Set(["properties", "$defs", "patternProperties"]);

function rank(key: string): number {
  const index = KEYWORD_ORDER.indexOf(key);
  return index === -1 ? KEYWORD_ORDER.length : index;
}

/** Rewrites `value` with keywords in a fixed order, so equal schemas print equal bytes. */
function ordered(value: unknown, nameMap = false): unknown {
  if (Array.isArray(value)) return value.map((item) => ordered(item));
  if (value === null || typeof value !== "object") return value;
  const entries = Object.entries(value as Record<string, unknown>);
  if (!nameMap) {
    entries.sort(([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  }
  return Object.fromEntries(
    entries.map((
      [key, item],
    ) => [key, nameMap ? ordered(item) : ordered(item, NAME_MAPS.has(key))]),
  );
}

function object(value: unknown, where: string): JsonSchema {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(`directive JSON Schema: expected a schema object at ${where}`);
  }
  return value as JsonSchema;
}

/** The `anyOf` branch of `schema` whose `type` is `type`; throws when the shape changed. */
function branch(schema: JsonSchema, type: string, where: string): JsonSchema {
  const options = schema.anyOf;
  const found = Array.isArray(options)
    ? options.find((option) => object(option, where).type === type)
    : undefined;
  if (found === undefined) {
    throw new TypeError(`directive JSON Schema: ${where} has no "${type}" branch in anyOf`);
  }
  return object(found, where);
}

const FIELD_DESCRIPTIONS: Record<string, string> = {
  type: "Selects the execution module; must name a registered module type.",
  issued_by: "Who asked: a person or agent identity, recorded on the ledger. Not blank, no NUL.",
  objective: "The intended outcome in plain words. Not blank, no NUL.",
  scope: "What the directive may touch. Each item is not blank and has no NUL.",
  constraints: "What it must not do or must respect. Each item is not blank and has no NUL.",
  success_metrics: "How evaluation will judge the outcome. Each item is not blank and has no NUL.",
  budget: "Hard spending limit: a positive decimal amount (at most 14 digits before and 4 after " +
    "the point) and an ISO 4217 currency code.",
  timebox: `Hard wall-clock limit for execution: whole seconds, or a duration such as 90s, 15m ` +
    `or 2h; between 1 second and ${DIRECTIVE_LIMITS.timeboxMaxSeconds} seconds (24h).`,
  payload: `Module-specific input, a JSON object of at most ${DIRECTIVE_LIMITS.payloadMaxKiB} ` +
    `KiB nested at most ${DIRECTIVE_LIMITS.payloadMaxDepth} levels, with no NUL in any string.`,
  idempotency_key: "Unique per intent: a second directive with the same key is never created; " +
    "the same key with different content is refused.",
};

/**
 * The JSON Schema of a directive document for the given module types (sorted
 * into the `type` enum). Deterministic: the same contract and types give the
 * same object, with keys in the same order.
 */
export function directiveJsonSchema(moduleTypes: readonly string[]): JsonSchema {
  const types = [...new Set(moduleTypes)].sort();
  const contract = createDirectiveSchema({ moduleTypes: types });
  const generated = object(z.toJSONSchema(contract, { io: "input" }), "the root");
  const properties = object(generated.properties, "properties");

  for (const [field, description] of Object.entries(FIELD_DESCRIPTIONS)) {
    object(properties[field], `properties.${field}`).description = description;
  }
  for (const field of Object.keys(properties)) {
    if (FIELD_DESCRIPTIONS[field] === undefined) {
      throw new TypeError(`directive JSON Schema: no description for the new field "${field}"`);
    }
  }

  const type = object(properties.type, "properties.type");
  if (type.type !== "string") throw new TypeError("directive JSON Schema: type is not a string");
  type.enum = types;

  const seconds = branch(object(properties.timebox, "properties.timebox"), "integer", "timebox");
  seconds.minimum = 1;
  seconds.maximum = DIRECTIVE_LIMITS.timeboxMaxSeconds;

  const budget = object(properties.budget, "properties.budget");
  const amount = object(object(budget.properties, "budget.properties").amount, "budget.amount");
  branch(amount, "number", "budget.amount").exclusiveMinimum = 0;

  return ordered({
    ...generated,
    $id: DIRECTIVE_SCHEMA_ID,
    title: "Keel directive",
    description: "A directive: frozen intent that an agent or person asks Keel to carry out " +
      "within stated limits (budget, timebox, scope, constraints). Unknown fields are rejected. " +
      "Generated from the zod contract in src/models/directive.ts by `deno task schemas`; do " +
      "not edit by hand.",
  }) as JsonSchema;
}

/** The committed form of {@linkcode directiveJsonSchema}: 2-space JSON and a final newline. */
export function directiveJsonSchemaText(moduleTypes: readonly string[]): string {
  return `${JSON.stringify(directiveJsonSchema(moduleTypes), null, 2)}\n`;
}
