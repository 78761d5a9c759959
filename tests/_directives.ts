/** Helpers for directive suites: a valid document and row counts. */
import type { Sql } from "../src/db/mod.ts";
import { createDirectiveSchema, type DirectiveSchema } from "../src/models/mod.ts";
import { BUILTIN_MODULES, createRegistry } from "../src/execution/mod.ts";

/** The contract over the built-in modules. */
export function builtinSchema(): DirectiveSchema {
  return createDirectiveSchema({ moduleTypes: createRegistry(BUILTIN_MODULES).types() });
}

/** A valid echo directive document; `overrides` replace top-level fields. */
export function echoDocument(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: "echo",
    issued_by: "alice@example.com",
    objective: "Echo a greeting back as an artifact",
    scope: ["sandbox"],
    constraints: ["no network"],
    success_metrics: ["artifact equals payload"],
    budget: { amount: "5.00", currency: "USD" },
    timebox: "5m",
    payload: { message: "hello" },
    idempotency_key: `test-${crypto.randomUUID()}`,
    ...overrides,
  };
}

/** Row counts of the tables a submit or transition writes. */
export async function counts(sql: Sql): Promise<Record<string, number>> {
  const [row] = await sql<{ directives: number; transitions: number }[]>`
    SELECT (SELECT count(*)::int FROM directives) AS directives,
           (SELECT count(*)::int FROM directive_transitions) AS transitions`;
  return { directives: row?.directives ?? -1, transitions: row?.transitions ?? -1 };
}
