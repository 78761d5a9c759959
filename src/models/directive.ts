import { z } from "zod";
import { DECIMAL_PATTERN } from "./decimal.ts";

/** Bounds on every field of a directive; the JSON Schema and docs quote these. */
export const DIRECTIVE_LIMITS = {
  typeMaxLength: 63,
  issuedByMaxLength: 200,
  objectiveMaxLength: 4000,
  listMaxItems: 50,
  listItemMaxLength: 500,
  idempotencyKeyMaxLength: 200,
  payloadMaxKiB: 64,
  payloadMaxDepth: 32,
  timeboxMaxSeconds: 86_400,
  budgetMaxAmount: "99999999999999.9999",
} as const;

/** The contract's fields, in document order; `createDirectiveSchema` has exactly these keys. */
export const DIRECTIVE_FIELDS = [
  "type",
  "issued_by",
  "objective",
  "scope",
  "constraints",
  "success_metrics",
  "budget",
  "timebox",
  "payload",
  "idempotency_key",
] as const;

/** Maximum payload size in bytes (UTF-8 JSON). */
export const PAYLOAD_MAX_BYTES = DIRECTIVE_LIMITS.payloadMaxKiB * 1024;

const TYPE_PATTERN = /^[a-z][a-z0-9_]{0,62}$/;
const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@/-]*$/;
const DURATION_PATTERN = /^(\d{1,6})(s|m|h)$/;

function hasNul(value: string): boolean {
  return value.includes("\u0000");
}

/**
 * Text as Postgres can store it verbatim: no NUL (U+0000, which `text` and
 * `jsonb` refuse) and no lone UTF-16 surrogate (not valid Unicode). SQL
 * metacharacters and any other Unicode are kept exactly as given.
 */
function text(min: number, max: number): z.ZodString {
  return z.string()
    .min(min, { message: `must be at least ${min} character${min === 1 ? "" : "s"}` })
    .max(max, { message: `must be at most ${max} characters` })
    .refine((value) => min === 0 || value.trim().length > 0, { message: "must not be blank" })
    .refine((value) => !hasNul(value), { message: "must not contain NUL (U+0000)" })
    .refine((value) => value.isWellFormed(), { message: "must be well-formed Unicode" });
}

function textList(): z.ZodArray<z.ZodString> {
  return z.array(text(1, DIRECTIVE_LIMITS.listItemMaxLength))
    .max(DIRECTIVE_LIMITS.listMaxItems, {
      message: `must have at most ${DIRECTIVE_LIMITS.listMaxItems} items`,
    });
}

/** Finds the first problem in a JSON value that Postgres `jsonb` or our bounds refuse. */
export function jsonProblem(value: unknown, depth = 0): string | undefined {
  if (depth > DIRECTIVE_LIMITS.payloadMaxDepth) {
    return `nests deeper than ${DIRECTIVE_LIMITS.payloadMaxDepth} levels`;
  }
  if (typeof value === "string") {
    if (hasNul(value)) return "contains NUL (U+0000), which jsonb cannot store";
    if (!value.isWellFormed()) return "contains a string that is not well-formed Unicode";
    return undefined;
  }
  if (typeof value === "number") {
    return Number.isFinite(value) ? undefined : "contains a non-finite number";
  }
  if (value === null || typeof value === "boolean") return undefined;
  if (Array.isArray(value)) {
    for (const item of value) {
      const problem = jsonProblem(item, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  if (typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      const problem = jsonProblem(key, depth + 1) ?? jsonProblem(item, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  return `contains a ${typeof value}, which is not JSON`;
}

/** Size in bytes of `value` serialised as UTF-8 JSON. */
export function jsonBytes(value: unknown): number {
  return new TextEncoder().encode(JSON.stringify(value)).length;
}

const payload = z.record(z.string(), z.unknown())
  .superRefine((value, ctx) => {
    const problem = jsonProblem(value);
    if (problem) {
      ctx.addIssue({ code: "custom", message: `payload ${problem}` });
      return;
    }
    const bytes = jsonBytes(value);
    if (bytes > PAYLOAD_MAX_BYTES) {
      ctx.addIssue({
        code: "custom",
        message:
          `payload is ${bytes} bytes as JSON; the limit is ${PAYLOAD_MAX_BYTES} (${DIRECTIVE_LIMITS.payloadMaxKiB} KiB)`,
      });
    }
  });

/** An amount of money: a positive decimal with at most 4 places, and an ISO 4217 code. */
export const Budget = z.strictObject({
  amount: z.union([
    z.string().regex(DECIMAL_PATTERN, {
      message: "must be a decimal with at most 14 digits before and 4 after the point",
    }),
    z.number().finite(),
  ])
    .transform((value) => typeof value === "number" ? String(value) : value)
    .pipe(
      z.string()
        .regex(DECIMAL_PATTERN, { message: "must have at most 14 digits and 4 decimal places" })
        .refine((value) => Number(value) > 0, { message: "must be greater than zero" }),
    ),
  currency: z.string().regex(/^[A-Z]{3}$/, {
    message: "must be an ISO 4217 code of three capital letters, e.g. USD",
  }),
});
/** An amount of money. */
export type Budget = z.infer<typeof Budget>;

/** A timebox: whole seconds, or a duration such as `90s`, `15m`, `2h`. */
export const Timebox = z.union([
  z.number().int({ message: "must be a whole number of seconds" }),
  z.string().regex(DURATION_PATTERN, {
    message: "must be whole seconds or a duration such as 90s, 15m or 2h",
  }),
]).transform((value) => {
  if (typeof value === "number") return value;
  const match = DURATION_PATTERN.exec(value);
  const n = Number(match?.[1]);
  return match?.[2] === "h" ? n * 3600 : match?.[2] === "m" ? n * 60 : n;
}).pipe(
  z.number()
    .min(1, { message: "must be at least 1 second" })
    .max(DIRECTIVE_LIMITS.timeboxMaxSeconds, {
      message: `must be at most ${DIRECTIVE_LIMITS.timeboxMaxSeconds} seconds (24h)`,
    }),
);

/** Options for {@linkcode createDirectiveSchema}. */
export interface DirectiveSchemaOptions {
  /** The directive types with a registered execution module. */
  readonly moduleTypes: readonly string[];
}

/**
 * The directive contract: frozen intent as submitted. Strict: unknown keys are
 * rejected; every field is bounded; `type` must name a registered module.
 */
export function createDirectiveSchema(options: DirectiveSchemaOptions) {
  const known = [...options.moduleTypes].sort();
  return z.strictObject({
    type: z.string()
      .regex(TYPE_PATTERN, {
        message: "must be snake_case: a-z, 0-9 and _, starting with a letter",
      })
      .refine((value) => known.includes(value), {
        message: `must name a registered execution module (${known.join(", ")})`,
      }),
    issued_by: text(1, DIRECTIVE_LIMITS.issuedByMaxLength),
    objective: text(1, DIRECTIVE_LIMITS.objectiveMaxLength),
    scope: textList().default([]),
    constraints: textList().default([]),
    success_metrics: textList().default([]),
    budget: Budget,
    timebox: Timebox,
    payload: payload.default({}),
    idempotency_key: text(1, DIRECTIVE_LIMITS.idempotencyKeyMaxLength).regex(
      IDEMPOTENCY_KEY_PATTERN,
      { message: "must start with a letter or digit and use only letters, digits and ._:@/-" },
    ),
  });
}

/** The schema for a given set of module types. */
export type DirectiveSchema = ReturnType<typeof createDirectiveSchema>;
/** A validated directive, normalised (budget amount as a decimal string, timebox in seconds). */
export type DirectiveInput = z.output<DirectiveSchema>;
/** A directive document as written by a submitter, before normalisation. */
export type DirectiveDocument = z.input<DirectiveSchema>;
