/**
 * Directives against the real Postgres: submit, idempotency, the single
 * mutator under races, the database's own refusal of illegal transitions,
 * and the behaviour of awkward strings.
 */
import { assert, assertEquals, assertRejects } from "@std/assert";
import postgres from "postgres";
import { createMigratedDatabase, type TestDatabase, withSql } from "./_db.ts";
import { builtinSchema, counts, echoDocument } from "./_directives.ts";
import {
  canTransition,
  DirectiveConflictError,
  DirectiveValidationError,
  IdempotencyConflictError,
  IllegalTransitionError,
  STATUSES,
  submitDirective,
  transitionDirective,
  TransitionRequestError,
} from "../src/directives/mod.ts";
import { PAYLOAD_MAX_BYTES } from "../src/models/mod.ts";

const schema = builtinSchema();

function suite(name: string, fn: (db: TestDatabase) => Promise<void>): void {
  Deno.test(name, async () => {
    const db = await createMigratedDatabase();
    try {
      await fn(db);
    } finally {
      await db.drop();
    }
  });
}

suite("submit stores the directive, proposes it and writes two ledger rows", async (db) => {
  await withSql(db.appUrl, async (sql) => {
    const { directive, created } = await submitDirective(sql, echoDocument(), { schema });
    assert(created);
    assertEquals([directive.status, directive.version], ["proposed", 2]);
    assertEquals(directive.timebox_seconds, 300);
    assertEquals(directive.budget_amount, "5.0000");
    const ledger = await sql`
      SELECT from_status, to_status, actor, reason FROM directive_transitions
       WHERE directive_id = ${directive.id} ORDER BY id`;
    assertEquals([...ledger], [
      { from_status: null, to_status: "draft", actor: "alice@example.com", reason: "submitted" },
      {
        from_status: "draft",
        to_status: "proposed",
        actor: "keel",
        reason: "proposed for policy evaluation",
      },
    ]);
  });
});

suite(
  "a second submit with the same key returns the first directive and writes nothing",
  async (db) => {
    await withSql(db.appUrl, async (sql) => {
      const document = echoDocument();
      const first = await submitDirective(sql, document, { schema });
      const before = await counts(sql);
      const again = await Promise.all(
        Array.from(
          { length: 5 },
          () => submitDirective(sql, structuredClone(document), { schema }),
        ),
      );
      for (const result of again) {
        assertEquals([result.directive.id, result.created], [first.directive.id, false]);
      }
      assertEquals(await counts(sql), before);
      const error = await assertRejects(
        () => submitDirective(sql, { ...document, objective: "something else" }, { schema }),
        IdempotencyConflictError,
        document.idempotency_key as string,
      );
      assertEquals(error.existingId, first.directive.id);
      assertEquals(await counts(sql), before);
    });
  },
);

suite("concurrent first submits of one key create exactly one directive", async (db) => {
  await withSql(db.appUrl, async (sql) => {
    const document = echoDocument();
    const results = await Promise.all(
      Array.from({ length: 8 }, () => submitDirective(sql, structuredClone(document), { schema })),
    );
    assertEquals(results.filter((r) => r.created).length, 1);
    assertEquals(new Set(results.map((r) => r.directive.id)).size, 1);
    assertEquals(await counts(sql), { directives: 1, transitions: 2 });
  });
});

suite("malformed directives get field-level errors and write nothing", async (db) => {
  await withSql(db.appUrl, async (sql) => {
    await submitDirective(sql, echoDocument(), { schema });
    const before = await counts(sql);
    const cases: [string, Record<string, unknown>, string][] = [
      ["unknown key", echoDocument({ priority: "high" }), ""],
      ["unregistered type", echoDocument({ type: "launch_rockets" }), "type"],
      ["empty objective", echoDocument({ objective: "" }), "objective"],
      ["zero budget", echoDocument({ budget: { amount: "0", currency: "USD" } }), "budget.amount"],
      [
        "negative budget",
        echoDocument({ budget: { amount: -5, currency: "USD" } }),
        "budget.amount",
      ],
      [
        "lower-case currency",
        echoDocument({ budget: { amount: "1", currency: "usd" } }),
        "budget.currency",
      ],
      ["timebox over 24h", echoDocument({ timebox: "25h" }), "timebox"],
      ["scope item not text", echoDocument({ scope: ["ok", 7] }), "scope[1]"],
      ["NUL in objective", echoDocument({ objective: "a\u0000b" }), "objective"],
      ["NUL in payload", echoDocument({ payload: { note: "a\u0000b" } }), "payload"],
      ["lone surrogate", echoDocument({ issued_by: "bob\uD800" }), "issued_by"],
      ["bad idempotency key", echoDocument({ idempotency_key: " spaced key" }), "idempotency_key"],
    ];
    for (const [label, document, path] of cases) {
      const error = await assertRejects(
        () => submitDirective(sql, document, { schema }),
        DirectiveValidationError,
        undefined,
      );
      assert(
        error.fields.some((field) => field.path === path),
        `${label}: expected an error at "${path}", got ${JSON.stringify(error.fields)}`,
      );
    }
    assertEquals(await counts(sql), before);
  });
});

function payloadOfSize(bytes: number): Record<string, string> {
  // {"x":"…"} is 8 bytes of JSON around the string.
  return { x: "a".repeat(bytes - 8) };
}

suite("a payload at the limit is accepted and one byte over is rejected", async (db) => {
  await withSql(db.appUrl, async (sql) => {
    const atLimit = payloadOfSize(PAYLOAD_MAX_BYTES);
    assertEquals(new TextEncoder().encode(JSON.stringify(atLimit)).length, PAYLOAD_MAX_BYTES);
    const ok = await submitDirective(sql, echoDocument({ payload: atLimit }), { schema });
    assert(ok.created);
    const before = await counts(sql);
    const error = await assertRejects(
      () =>
        submitDirective(sql, echoDocument({ payload: payloadOfSize(PAYLOAD_MAX_BYTES + 1) }), {
          schema,
        }),
      DirectiveValidationError,
      `${PAYLOAD_MAX_BYTES + 1} bytes`,
    );
    assertEquals(error.fields[0]?.path, "payload");
    assertEquals(await counts(sql), before);
  });
});

suite("SQL metacharacters and Unicode are stored verbatim", async (db) => {
  await withSql(db.appUrl, async (sql) => {
    const awkward = `Robert'); DROP TABLE directives; -- \\ " $1 % _ 😀 مرحبا e\u0301 \u202e`;
    const { directive } = await submitDirective(
      sql,
      echoDocument({ objective: awkward, scope: [awkward], payload: { text: awkward } }),
      { schema },
    );
    const [row] =
      await sql`SELECT objective, scope, payload FROM directives WHERE id = ${directive.id}`;
    assertEquals(row?.objective, awkward);
    assertEquals(row?.scope, [awkward]);
    assertEquals(row?.payload, { text: awkward });
  });
});

suite(
  "N writers racing from one state: exactly one wins, the others get a conflict naming the state",
  async (db) => {
    await withSql(db.appUrl, async (sql) => {
      const { directive } = await submitDirective(sql, echoDocument(), { schema });
      const writers = 16;
      const outcomes = await Promise.allSettled(
        Array.from({ length: writers }, (_, i) =>
          transitionDirective(sql, {
            directiveId: directive.id,
            to: i % 2 === 0 ? "approved" : "aborted",
            actor: `writer-${i}`,
            reason: "race",
            expectedVersion: directive.version,
          })),
      );
      const winners = outcomes.filter((o) => o.status === "fulfilled");
      assertEquals(winners.length, 1);
      const won = (winners[0] as PromiseFulfilledResult<{ directive: { status: string } }>).value;
      for (const outcome of outcomes) {
        if (outcome.status === "fulfilled") continue;
        assert(outcome.reason instanceof DirectiveConflictError, String(outcome.reason));
        assertEquals(outcome.reason.currentStatus, won.directive.status);
        assert(outcome.reason.message.includes(`"${won.directive.status}"`));
      }
      const [row] = await sql`
      SELECT count(*)::int AS n FROM directive_transitions
       WHERE directive_id = ${directive.id} AND from_status = 'proposed'`;
      assertEquals(row?.n, 1);
    });
  },
);

suite(
  "the mutator refuses illegal steps, missing attribution and stale expectations",
  async (db) => {
    await withSql(db.appUrl, async (sql) => {
      const { directive } = await submitDirective(sql, echoDocument(), { schema });
      const before = await counts(sql);
      await assertRejects(
        () =>
          transitionDirective(sql, {
            directiveId: directive.id,
            to: "complete",
            actor: "a",
            reason: "r",
          }),
        IllegalTransitionError,
        `from "proposed" to "complete"`,
      );
      await assertRejects(
        () =>
          transitionDirective(sql, {
            directiveId: directive.id,
            to: "approved",
            actor: " ",
            reason: "r",
          }),
        TransitionRequestError,
        "actor is required",
      );
      await assertRejects(
        () =>
          transitionDirective(sql, {
            directiveId: directive.id,
            to: "approved",
            actor: "a",
            reason: "r",
            expectedStatus: "draft",
          }),
        DirectiveConflictError,
        `now "proposed"`,
      );
      assertEquals(await counts(sql), before);
    });
  },
);

suite(
  "the database refuses illegal transitions and content changes made with raw SQL",
  async (db) => {
    const app = postgres(db.appUrl, { max: 1, onnotice: () => {} });
    const owner = postgres(db.ownerUrl, { max: 1, onnotice: () => {} });
    try {
      const { directive } = await submitDirective(app, echoDocument(), { schema });
      // keel_app holds no UPDATE of status, version or content (0009): refused outright.
      for (
        const attempt of [
          () =>
            app`UPDATE directives SET status = 'complete', version = version + 1 WHERE id = ${directive.id}`,
          () =>
            app`UPDATE directives SET objective = 'rewritten', version = version + 1 WHERE id = ${directive.id}`,
          () => app`UPDATE directives SET status = 'approved' WHERE id = ${directive.id}`,
        ]
      ) {
        const denied = await assertRejects(
          attempt,
          Error,
          "permission denied for table directives",
        );
        assertEquals((denied as unknown as { code: string }).code, "42501");
      }
      // The owner holds the privileges, and the guard trigger still refuses.
      const illegal = await assertRejects(
        () =>
          owner`UPDATE directives SET status = 'complete', version = version + 1 WHERE id = ${directive.id}`,
        Error,
        "illegal directive transition proposed -> complete",
      );
      assertEquals((illegal as unknown as { code: string }).code, "23514");
      await assertRejects(
        () =>
          owner`UPDATE directives SET objective = 'rewritten', version = version + 1 WHERE id = ${directive.id}`,
        Error,
        "frozen intent",
      );
      await assertRejects(
        () =>
          owner`UPDATE directives SET submitted_by = 'mallory', version = version + 1 WHERE id = ${directive.id}`,
        Error,
        "frozen intent",
      );
      await assertRejects(
        () => owner`UPDATE directives SET status = 'approved' WHERE id = ${directive.id}`,
        Error,
        "version must advance",
      );
      await assertRejects(
        () =>
          app`INSERT INTO directives (type, issued_by, objective, budget_amount, budget_currency,
        timebox_seconds, idempotency_key, status) VALUES ('echo', 'x', 'y', 1, 'USD', 1, 'k', 'approved')`,
        Error,
        "created as draft",
      );
      const [row] = await app`SELECT status, objective FROM directives WHERE id = ${directive.id}`;
      assertEquals({ ...row }, { status: "proposed", objective: directive.objective });
    } finally {
      await app.end();
      await owner.end();
    }
  },
);

suite("the database's transition table is the same as the code's", async (db) => {
  await withSql(db.ownerUrl, async (sql) => {
    for (const from of STATUSES) {
      for (const to of STATUSES) {
        const [row] = await sql<{ allowed: boolean }[]>`
          SELECT keel_directive_transition_allowed(${from}, ${to}) AS allowed`;
        assertEquals(row?.allowed, canTransition(from, to), `${from} -> ${to}`);
      }
    }
  });
});
