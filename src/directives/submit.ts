import { trace } from "@opentelemetry/api";
import type { z } from "zod";
import type { Sql } from "../db/mod.ts";
import { DirectiveRow, type DirectiveSchema, jsonPath } from "../models/mod.ts";
import { intentOf } from "./intent.ts";
import { applyTransition } from "./mutator.ts";

/** One field-level problem in a directive document. */
export interface FieldError {
  /** JSON path of the field, e.g. `budget.amount` or `scope[2]`; empty for the document. */
  readonly path: string;
  /** What is wrong. */
  readonly message: string;
}

/** Thrown when a directive document fails the contract; lists every field error. */
export class DirectiveValidationError extends Error {
  /** Every problem found. */
  readonly fields: readonly FieldError[];
  /** Creates the error. */
  constructor(fields: readonly FieldError[], options?: ErrorOptions) {
    super(
      `Invalid directive: ${
        fields.map((f) => `${f.path === "" ? "(document)" : f.path}: ${f.message}`).join("; ")
      }`,
      options,
    );
    this.name = "DirectiveValidationError";
    this.fields = fields;
  }
}

/** Thrown when an idempotency key is reused for a different directive. */
export class IdempotencyConflictError extends Error {
  /** The reused key. */
  readonly idempotencyKey: string;
  /** The directive that holds it. */
  readonly existingId: string;
  /** Creates the error. */
  constructor(idempotencyKey: string, existingId: string, options?: ErrorOptions) {
    super(
      `Idempotency key "${idempotencyKey}" already belongs to directive "${existingId}" with different content; use a new key for new intent`,
      options,
    );
    this.name = "IdempotencyConflictError";
    this.idempotencyKey = idempotencyKey;
    this.existingId = existingId;
  }
}

/**
 * Keys a JavaScript object cannot hold as plain data: validation would drop
 * them (or a careless copy would turn them into a prototype change), so a
 * document that has one is refused rather than silently changed.
 */
const UNSAFE_KEYS: ReadonlySet<string> = new Set(["__proto__"]);

/** Every path (`payload.a.__proto__`) at which `value` holds an unsafe key. */
function unsafeKeyPaths(value: unknown, path: (string | number)[] = []): FieldError[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => unsafeKeyPaths(item, [...path, i]));
  if (value === null || typeof value !== "object") return [];
  return Object.keys(value).flatMap((key) =>
    UNSAFE_KEYS.has(key)
      ? [{
        path: jsonPath([...path, key]),
        message: `the key "${key}" is not allowed (it would be dropped, not stored)`,
      }]
      : unsafeKeyPaths((value as Record<string, unknown>)[key], [...path, key])
  );
}

/** Checks a document against the contract; throws with every field error. */
export function parseDirective(
  schema: DirectiveSchema,
  document: unknown,
): z.output<DirectiveSchema> {
  const unsafe = unsafeKeyPaths(document);
  if (unsafe.length > 0) throw new DirectiveValidationError(unsafe);
  const result = schema.safeParse(document);
  if (result.success) return result.data;
  throw new DirectiveValidationError(
    result.error.issues.map((issue) => ({ path: jsonPath(issue.path), message: issue.message })),
    { cause: result.error },
  );
}

/** The result of a submit. */
export interface SubmitResult {
  /** The stored directive. */
  readonly directive: DirectiveRow;
  /** False when the idempotency key already named this directive: nothing was written. */
  readonly created: boolean;
}

type Intent = z.output<DirectiveSchema>;

function sameIntent(row: DirectiveRow, intent: Intent): boolean {
  // Compare the stored intent with the submitted one; amounts as numbers,
  // since Postgres pads them to four places ("5" is stored as "5.0000").
  const comparable = (value: Intent) => ({
    ...value,
    budget: { ...value.budget, amount: Number(value.budget.amount) },
  });
  return canonicalJson(comparable(intentOf(row))) === canonicalJson(comparable(intent));
}

/** JSON with object keys sorted, so equal values give equal text (jsonb reorders keys). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item) => {
    if (item === null || typeof item !== "object" || Array.isArray(item)) return item;
    return Object.fromEntries(
      Object.entries(item as Record<string, unknown>).sort(([a], [b]) =>
        a < b ? -1 : a > b ? 1 : 0
      ),
    );
  });
}

/** Checks a submitter name as `directives.submitted_by` allows it: 1 to 200 characters. */
function submitter(name: string): string {
  const trimmed = name.trim();
  if (
    trimmed.length === 0 || trimmed.length > 200 || !trimmed.isWellFormed() ||
    trimmed.includes("\u0000")
  ) {
    throw new DirectiveValidationError([{
      path: "submitted_by",
      message: `submitter "${name.slice(0, 80)}" must be 1 to 200 characters of well-formed text`,
    }]);
  }
  return trimmed;
}

/** Options for {@linkcode submitDirective}. */
export interface SubmitOptions {
  /** The contract, built over the registered module types. */
  readonly schema: DirectiveSchema;
  /**
   * Who submits: the authenticated principal, recorded as `submitted_by` and
   * as the actor of the creation ledger row. Defaults to the document's
   * `issued_by` (what Keel recorded before principals existed).
   */
  readonly submittedBy?: string;
}

/**
 * Validates a directive document, stores it and moves it to `proposed`, all
 * in one transaction. Idempotent on `idempotency_key`: submitting the same
 * intent again returns the first directive and writes nothing; the same key
 * with different content is refused.
 */
/** The id of the trace being recorded now, if any: kept on the row so people can find it. */
function currentTraceId(): string | null {
  const context = trace.getActiveSpan()?.spanContext();
  return context && trace.isSpanContextValid(context) && (context.traceFlags & 1) === 1
    ? context.traceId
    : null;
}

export async function submitDirective(
  sql: Sql,
  document: unknown,
  options: SubmitOptions,
): Promise<SubmitResult> {
  const intent = parseDirective(options.schema, document);
  const submittedBy = submitter(options.submittedBy ?? intent.issued_by);
  return await sql.begin(async (tx) => {
    const [inserted] = await tx`
      INSERT INTO directives (
        type, issued_by, submitted_by, objective, scope, constraints, success_metrics,
        budget_amount, budget_currency, timebox_seconds, payload, idempotency_key, trace_id
      ) VALUES (
        ${intent.type}, ${intent.issued_by}, ${submittedBy}, ${intent.objective}, ${intent.scope},
        ${intent.constraints}, ${intent.success_metrics}, ${intent.budget.amount},
        ${intent.budget.currency}, ${intent.timebox}, ${tx.json(intent.payload as never)},
        ${intent.idempotency_key}, ${currentTraceId()}
      )
      ON CONFLICT (idempotency_key) DO NOTHING
      RETURNING *`;
    if (!inserted) {
      const [existing] = await tx`
        SELECT * FROM directives WHERE idempotency_key = ${intent.idempotency_key}`;
      const row = DirectiveRow.parse(existing);
      if (!sameIntent(row, intent)) {
        throw new IdempotencyConflictError(intent.idempotency_key, row.id);
      }
      return { directive: row, created: false };
    }
    const draft = DirectiveRow.parse(inserted);
    // The database wrote the creation row (actor: submitted_by) with the insert.
    const { directive } = await applyTransition(tx, {
      directiveId: draft.id,
      to: "proposed",
      actor: "keel",
      reason: "proposed for policy evaluation",
      expectedVersion: draft.version,
    });
    return { directive, created: true };
  }) as SubmitResult;
}
