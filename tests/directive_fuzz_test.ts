/**
 * 1,000 generated directive documents, valid and broken in many ways, each end
 * accepted or rejected with field-level errors; nothing is half-written.
 */
import fc from "fast-check";
import { assert, assertEquals } from "@std/assert";
import { createMigratedDatabase, withSql } from "./_db.ts";
import { builtinSchema, counts } from "./_directives.ts";
import { DirectiveValidationError, submitDirective } from "../src/directives/mod.ts";
import { DIRECTIVE_FIELDS } from "../src/models/mod.ts";

const DOCUMENTS = 1000;
const schema = builtinSchema();

const text = fc.oneof(
  fc.string({ minLength: 1, maxLength: 40 }),
  fc.string({ unit: "binary", minLength: 0, maxLength: 40 }),
  fc.constantFrom("", " ", "a\u0000b", "\uD800", "'; DROP TABLE directives; --", "😀".repeat(3)),
  fc.string({ minLength: 4001, maxLength: 4100 }),
);

// Plausible documents: mostly valid values, with the awkward ones mixed in.
const plausible = fc.record({
  type: fc.constantFrom("noop", "echo", "fail_intentionally", "Echo", "unknown_module"),
  issued_by: fc.oneof({ weight: 5, arbitrary: fc.string({ minLength: 1, maxLength: 40 }) }, text),
  objective: fc.oneof({ weight: 5, arbitrary: fc.string({ minLength: 1, maxLength: 200 }) }, text),
  scope: fc.array(fc.oneof({ weight: 5, arbitrary: fc.string({ minLength: 1 }) }, text), {
    maxLength: 5,
  }),
  constraints: fc.array(fc.string({ minLength: 1, maxLength: 30 }), { maxLength: 3 }),
  success_metrics: fc.array(fc.string({ minLength: 1, maxLength: 30 }), { maxLength: 3 }),
  budget: fc.record({
    amount: fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom("1", "10.50", "99999999999999.9999", 3, 0.5) },
      fc.constantFrom("0", "-1", "1.23456", "abc"),
      fc.double(),
    ),
    currency: fc.oneof({ weight: 5, arbitrary: fc.constantFrom("USD", "EUR") }, fc.string()),
  }),
  timebox: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom("30s", "5m", "2h", 60, 86_400) },
    fc.integer({ min: -5, max: 100_000 }),
    fc.constantFrom("25h", "1d", "", "0s"),
  ),
  payload: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 })),
  idempotency_key: fc.uuid().map((id) => `fuzz-${id}`),
});

// Then, half the time, one structural mutation: a key dropped, retyped or added.
const document = fc.tuple(
  plausible,
  fc.option(
    fc.tuple(
      fc.constantFrom("drop", "retype", "add"),
      fc.constantFrom(...DIRECTIVE_FIELDS),
      fc.anything(),
    ),
    { freq: 2 },
  ),
).map(([doc, mutation]) => {
  const out: Record<string, unknown> = { ...doc };
  if (mutation === null) return out;
  const [kind, key, value] = mutation;
  if (kind === "drop") delete out[key];
  else if (kind === "retype") out[key] = value;
  else out[`x_${key}`] = value;
  return out;
});

Deno.test(`${DOCUMENTS} generated documents: each accepted or rejected with field errors, never half-written`, async () => {
  const db = await createMigratedDatabase();
  try {
    await withSql(db.appUrl, async (sql) => {
      const documents = fc.sample(document, { numRuns: DOCUMENTS, seed: 20261128 });
      let accepted = 0;
      let rejected = 0;
      for (const candidate of documents) {
        try {
          const result = await submitDirective(sql, candidate, { schema });
          assert(result.created, "uuid keys never repeat, so every accepted document is new");
          assertEquals(result.directive.status, "proposed");
          accepted++;
        } catch (error) {
          if (!(error instanceof DirectiveValidationError)) {
            throw new Error(`document ${JSON.stringify(candidate)} crashed submit: ${error}`, {
              cause: error,
            });
          }
          assert(error.fields.length > 0);
          for (const field of error.fields) assert(field.message.length > 0);
          rejected++;
        }
      }
      assertEquals(accepted + rejected, DOCUMENTS);
      assert(accepted > 0 && rejected > 0, `accepted ${accepted}, rejected ${rejected}`);
      // Every accepted directive has exactly its two ledger rows; rejected ones left nothing.
      assertEquals(await counts(sql), { directives: accepted, transitions: 2 * accepted });
    });
  } finally {
    await db.drop();
  }
});
