/**
 * The zod models against the migrated schema: for every table in `TABLES`, a
 * valid create-input passes the `insert` schema, is inserted as the
 * application role, and the returned row passes the strict `row` schema with
 * every input field stored unchanged.
 */
import { createHash } from "node:crypto";
import { assert, assertEquals, assertNotEquals } from "@std/assert";
import type { z } from "zod";
import type { Sql } from "../src/db/mod.ts";
import {
  columnSpec,
  type NewApprovalRow,
  type NewArtifactRow,
  type NewDecisionNonceRow,
  type NewDirectiveRow,
  type NewEvaluationRow,
  type NewExecutionRunRow,
  type NewMemoryEmbeddingRow,
  type NewPolicyEvaluationRow,
  type NewTransitionRow,
  TABLES,
} from "../src/models/mod.ts";
import type { NewBudgetLedgerEventRow, NewBudgetLedgerRow } from "../src/models/budget_rows.ts";
import type { NewRetentionTombstoneRow } from "../src/models/retention_rows.ts";
import { connect } from "../src/db/mod.ts";
import { createMigratedDatabase, withSql } from "./_db.ts";

/** Ids of rows inserted earlier, for foreign keys. */
interface Inserted {
  directiveId: string;
  runId: string;
  budgetId?: string;
  subscriptionId?: string;
  eventId?: string;
  deliveryId?: string;
}

const ARTIFACT_BYTES = new TextEncoder().encode("hello, artifact \u00e9\u2603\n\0binary\xff");

/**
 * One valid create-input per table, in foreign-key order. The inputs carry
 * awkward values on purpose: array elements with commas, quotes, braces,
 * backslashes and the word NULL; nested JSON; a non-trivial bytea.
 */
const INPUTS = {
  directives: (): NewDirectiveRow => ({
    type: "noop",
    issued_by: "models-test",
    submitted_by: "models-test-principal",
    objective: "Round-trip every column: \u00e9\u2603 'quotes' \"double\"",
    scope: ["repo:keel", "a,b", 'say "hi"', "{braces}", "back\\slash", "NULL", "", " padded "],
    constraints: [],
    success_metrics: ["rows round-trip"],
    budget_amount: "1234.5000",
    budget_currency: "EUR",
    timebox_seconds: 3600,
    payload: { nested: { list: [1, "two", null, true], empty: {} }, n: 1.5, s: "\u2603" },
    idempotency_key: "models-test-directive-1",
  }),
  directive_transitions: (ids: Inserted): NewTransitionRow => ({
    directive_id: ids.directiveId,
    from_status: "draft",
    to_status: "proposed",
    actor: "models-test",
    reason: "submitted for policy",
  }),
  policy_evaluations: (ids: Inserted): NewPolicyEvaluationRow => ({
    directive_id: ids.directiveId,
    policy_name: "default",
    policy_version: "2024-01-01.1",
    verdict: "ALLOW",
    reason: "within budget",
    rule: "ok",
    auto_approve: true,
    granted_permissions: null,
    approvals_required: 1,
    separate_submitter: true,
    policy_sha256: "ab".repeat(32),
  }),
  approvals: (ids: Inserted): NewApprovalRow => ({
    directive_id: ids.directiveId,
    decision: "approved",
    actor: "human:alice",
    reason: "looks right",
  }),
  decision_nonces: (ids: Inserted): NewDecisionNonceRow => ({
    nonce: "nonce-0123456789abcdef",
    directive_id: ids.directiveId,
    action: "approve",
    actor: "human:alice",
  }),
  execution_runs: (ids: Inserted): NewExecutionRunRow => ({
    directive_id: ids.directiveId,
    attempt: 1,
    idempotency_key: `${ids.directiveId}:1`,
    module: "echo",
  }),
  artifacts: (ids: Inserted): NewArtifactRow => ({
    directive_id: ids.directiveId,
    run_id: ids.runId,
    kind: "module_output",
    sha256: createHash("sha256").update(ARTIFACT_BYTES).digest("hex"),
    size_bytes: ARTIFACT_BYTES.byteLength,
    content_type: "application/octet-stream",
    inline_content: ARTIFACT_BYTES,
    storage_uri: null,
  }),
  evaluations: (ids: Inserted): NewEvaluationRow => ({
    directive_id: ids.directiveId,
    run_id: ids.runId,
    evaluator: "noop",
    score: 0.75,
    dimensions: { accuracy: 0.5, notes: ["a", "b"] },
    metadata: {},
  }),
  memory_embeddings: (): NewMemoryEmbeddingRow => ({
    source_type: "directive",
    source_id: "models-test-directive-1",
    model: "noop-embedding-3",
    dimensions: 3,
    content: "embedded text",
    embedding: [0.25, -1.5, 3.125],
  }),
  budget_ledger: (ids: Inserted): NewBudgetLedgerRow => ({
    directive_id: ids.directiveId,
    idempotency_key: "wf-1/run-1/1",
    version: 1,
    provider: "anthropic",
    model: "claude-sonnet-4-5",
    amount: "0.0123",
    currency: "EUR",
  }),
  budget_ledger_events: (ids: Inserted): NewBudgetLedgerEventRow => ({
    budget_ledger_id: ids.budgetId ?? crypto.randomUUID(),
    directive_id: ids.directiveId,
    idempotency_key: "wf-1/run-1/1",
    status: "released",
    amount: "0.0000",
    currency: "EUR",
    attempts: 1,
  }),
  retention_tombstones: (ids: Inserted): NewRetentionTombstoneRow => ({
    table_name: "execution_runs",
    row_id: ids.runId,
    directive_id: ids.directiveId,
    bytes_removed: 42,
    storage_uri: null,
    cutoff: new Date("2026-01-02T03:04:05.678Z"),
    actor: "models-test",
  }),
  webhook_subscriptions: () => ({
    name: "ops-chat",
    url: "https://hooks.example/keel?a=1,2&b={x}",
    secret: `whsec_${"Ab+/".repeat(11)}=`,
    events: ["approval_requested", "run_failed"],
    format: "slack",
    created_by: "models-test",
  }),
  webhook_events: (ids: Inserted) => ({
    id: `evt_run_failed_${ids.runId}`,
    type: "run_failed",
    directive_id: ids.directiveId,
    data: { objective: 'quotes " and, commas', budget: { amount: "1.0000" } },
  }),
  webhook_deliveries: (ids: Inserted) => ({
    event_id: ids.eventId ?? "evt_run_failed_none",
    subscription_id: ids.subscriptionId ?? crypto.randomUUID(),
  }),
  webhook_attempts: (ids: Inserted) => ({
    delivery_id: ids.deliveryId ?? crypto.randomUUID(),
    attempt: 1,
    status_code: 503,
    error: "the receiver answered 503",
    latency_ms: 12,
  }),
  // Written only by a running run of its directive: the loop below claims the run first.
  working_memory: (ids: Inserted) => ({
    directive_id: ids.directiveId,
    run_id: ids.runId,
    key: "cursor",
    version: 1,
    value: { page: 2 },
  }),
} satisfies Record<string, (ids: Inserted) => Record<string, unknown>>;

type TableName = keyof typeof INPUTS;
const ORDER = Object.keys(INPUTS) as TableName[];
/**
 * Tables only the owner (or the database's own functions and triggers) writes;
 * keel_app may read them: the ledger, budget events, the prune function's tombstones.
 */
const OWNER_WRITTEN: ReadonlySet<TableName> = new Set([
  "directive_transitions",
  "budget_ledger_events",
  "retention_tombstones",
  "webhook_events",
  "webhook_deliveries",
]);

function shapeOf(schema: z.ZodObject): Record<string, z.ZodType> {
  return schema.shape as Record<string, z.ZodType>;
}

/** Wraps jsonb values in `sql.json`, leaving everything else as is. */
function toParameters(sql: Sql, table: TableName, input: Record<string, unknown>) {
  const row = shapeOf(TABLES[table]!.row);
  return Object.fromEntries(
    Object.entries(input).map(([key, value]) => {
      const field = row[key];
      assert(field, `${table}.${key} is not a column of the row schema`);
      return [key, columnSpec(field).pg === "jsonb" ? sql.json(value as never) : value];
    }),
  );
}

/** Makes bytes comparable with `assertEquals` whatever their class (Buffer vs Uint8Array). */
function comparable(value: unknown): unknown {
  return value instanceof Uint8Array ? { bytes: Array.from(value) } : value;
}

Deno.test("every table in TABLES has a round-trip input, and nothing else does", () => {
  assertEquals([...ORDER].sort(), Object.keys(TABLES).sort());
});

Deno.test("every row of every table round-trips through insert schema, the app role and the strict row schema", async () => {
  const db = await createMigratedDatabase("keel_models");
  const owner = connect(db.ownerUrl, { max: 1 });
  try {
    await withSql(db.appUrl, async (sql) => {
      const [who] = await sql<{ user: string }[]>`SELECT current_user AS user`;
      assertEquals(who?.user, "keel_app");

      const ids: Inserted = { directiveId: "", runId: "" };
      for (const table of ORDER) {
        const model = TABLES[table]!;
        const input = INPUTS[table](ids) as Record<string, unknown>;
        const checked = model.insert.parse(input) as Record<string, unknown>;
        assertEquals(
          Object.keys(checked).sort(),
          Object.keys(input).sort(),
          `${table}: the insert schema dropped or added keys`,
        );

        if (table === "working_memory") {
          await sql`UPDATE execution_runs SET status = 'running', started_at = now()
                     WHERE id = ${ids.runId}`;
        }
        const params = toParameters(sql, table, checked);
        const writer = OWNER_WRITTEN.has(table) ? owner : sql;
        const returned = await writer`
          INSERT INTO ${writer(table)} ${writer(params as never)} RETURNING *`;
        assertEquals(returned.length, 1);

        const parsed = model.row.safeParse(returned[0]);
        assert(
          parsed.success,
          `${table}: the returned row fails the row schema: ${
            JSON.stringify(parsed.error?.issues)
          }`,
        );
        const row = parsed.data as Record<string, unknown>;
        for (const [key, value] of Object.entries(input)) {
          assertEquals(
            comparable(row[key]),
            comparable(value),
            `${table}.${key} did not round-trip`,
          );
        }

        // A fresh SELECT sees the same row as RETURNING did.
        const selected = await sql`SELECT * FROM ${sql(table)} WHERE id = ${row.id as string}`;
        const reparsed = model.row.parse(selected[0]) as Record<string, unknown>;
        assertEquals(
          Object.fromEntries(Object.entries(reparsed).map(([k, v]) => [k, comparable(v)])),
          Object.fromEntries(Object.entries(row).map(([k, v]) => [k, comparable(v)])),
        );

        if (table === "directives") ids.directiveId = row.id as string;
        if (table === "execution_runs") ids.runId = row.id as string;
        if (table === "budget_ledger") ids.budgetId = row.id as string;
        if (table === "webhook_subscriptions") ids.subscriptionId = row.id as string;
        if (table === "webhook_events") ids.eventId = row.id as string;
        if (table === "webhook_deliveries") ids.deliveryId = row.id as string;
      }
      assertNotEquals(ids.directiveId, "");
      assertNotEquals(ids.runId, "");
    });
  } finally {
    await owner.end();
    await db.drop();
  }
});

Deno.test("every insert schema rejects an unknown key", () => {
  const ids: Inserted = {
    directiveId: crypto.randomUUID(),
    runId: crypto.randomUUID(),
  };
  for (const table of ORDER) {
    const insert = TABLES[table]!.insert;
    const valid = INPUTS[table](ids);
    assert(insert.safeParse(valid).success, `${table}: the valid input must pass`);
    const result = insert.safeParse({ ...valid, not_a_column: 1 });
    assert(!result.success, `${table}: an unknown key was accepted`);
    assertEquals(result.error.issues.map((i) => i.code), ["unrecognized_keys"], table);
  }
});

Deno.test("every insert schema rejects an input missing a required field", () => {
  const ids: Inserted = {
    directiveId: crypto.randomUUID(),
    runId: crypto.randomUUID(),
  };
  for (const table of ORDER) {
    const insert = TABLES[table]!.insert;
    const valid = INPUTS[table](ids) as Record<string, unknown>;
    const required = Object.entries(shapeOf(insert))
      .filter(([, field]) => !field.safeParse(undefined).success)
      .map(([key]) => key);
    assert(required.length > 0, `${table}: the insert schema requires nothing`);
    for (const key of required) {
      const { [key]: _dropped, ...missing } = valid;
      const result = insert.safeParse(missing);
      assert(!result.success, `${table}: input without "${key}" was accepted`);
      assertEquals(result.error.issues.map((i) => i.path.join(".")), [key], table);
    }
  }
});

Deno.test("jsonb through the dynamic insert helper: sql.json stores scalars and arrays; a bare boolean is refused", async () => {
  const db = await createMigratedDatabase("keel_models");
  try {
    await withSql(db.appUrl, async (sql) => {
      const base = INPUTS.directives();
      const values: unknown[] = [[1, "two", { three: 3 }], "text", 42, true, { a: [1] }];
      for (const [index, payload] of values.entries()) {
        const input = {
          ...base,
          idempotency_key: `json-${index}`,
          payload: sql.json(payload as never),
        };
        const [row] = await sql<{ payload: unknown }[]>`
          INSERT INTO directives ${sql(input as never)} RETURNING payload`;
        assertEquals(row?.payload, payload, `payload ${JSON.stringify(payload)}`);
      }
      // Without sql.json, postgres.js infers a boolean parameter and Postgres refuses it.
      const bare = { ...base, idempotency_key: "json-bare-bool", payload: true };
      const error = await sql`INSERT INTO directives ${sql(bare as never)}`.then(
        () => undefined,
        (e: Error) => e,
      );
      assert(error, "a bare boolean payload was accepted");
      assertEquals((error as Error & { code: string }).code, "42804");
    });
  } finally {
    await db.drop();
  }
});
