/**
 * Bad input through the operator CLI (`keel submit -`, a real process under
 * `-P=cli`): generated documents and the limits (payload at and over
 * PAYLOAD_MAX_BYTES, NUL bytes, invalid UTF-8, very long strings, deep
 * nesting). Each is accepted, or rejected with a field-level error and no row
 * written; the process never crashes.
 *
 * Why a sample: one CLI process costs ~0.3 s for a rejected document and
 * ~5 s for an accepted one (it waits for Temporal's connect deadline before
 * storing the directive for the reconciler), so 1,000 processes would take
 * over an hour on two cores. `keel submit` has no batch mode. The 1,000
 * documents go through the in-process submit path in
 * `tests/directive_fuzz_test.ts`; here a fast-check sample of the same kind
 * of documents goes through the CLI and each outcome is checked against the
 * in-process verdict (same accept/reject, same field paths), which is what
 * makes the sample stand for the rest. The HTTP API (`src/server/`) did not
 * exist when this suite was written.
 */
import fc from "fast-check";
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { createMigratedDatabase, type TestDatabase, withSql } from "./_db.ts";
import { builtinSchema, counts, echoDocument } from "./_directives.ts";
import { DirectiveValidationError, parseDirective } from "../src/directives/mod.ts";
import { DIRECTIVE_LIMITS, PAYLOAD_MAX_BYTES } from "../src/models/mod.ts";
import { createHandler } from "../src/server/app.ts";
import { testToken } from "./_api.ts";
import { startLoopHarness } from "./_loop.ts";

const CLI_SAMPLE = 48;
const CONCURRENCY = 4;
const schema = builtinSchema();
const encoder = new TextEncoder();

interface Outcome {
  readonly code: number;
  readonly accepted: boolean;
  readonly paths: readonly string[];
  /** The error message, when rejected. */
  readonly message: string;
  readonly stderr: string;
}

async function submitViaCli(db: TestDatabase, body: Uint8Array): Promise<Outcome> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-P=cli", "src/cli/keel.ts", "--json", "submit", "--detach", "-"],
    clearEnv: true,
    // Temporal is deliberately unreachable: submit then stores the directive
    // for the reconciler, which is the path that writes rows.
    env: { NO_COLOR: "1", DATABASE_URL: db.appUrl, TEMPORAL_ADDRESS: "127.0.0.1:1" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(body);
  await writer.close();
  const output = await child.output();
  const stdout = new TextDecoder().decode(output.stdout).trim();
  const stderr = new TextDecoder().decode(output.stderr);
  assert(!/panic|Uncaught|stack backtrace/i.test(stderr), `the CLI crashed: ${stderr}`);
  const last = JSON.parse(stdout.split("\n").at(-1) ?? "null");
  if (output.code === 0) {
    assertEquals(last.event, "submitted", stdout);
    return { code: 0, accepted: true, paths: [], message: "", stderr };
  }
  assertEquals(
    output.code,
    4,
    `expected exit 4 (invalid), got ${output.code}: ${stdout} ${stderr}`,
  );
  assertEquals(last.error.kind, "invalid_directive", stdout);
  const fields = (last.error.fields ?? []) as { path: string; message: string }[];
  for (const field of fields) assert(field.message.length > 0, stdout);
  // A document that is not JSON at all has no fields; its message names the input.
  if (fields.length === 0) assert(/^stdin /.test(last.error.message), stdout);
  return {
    code: output.code,
    accepted: false,
    paths: fields.map((f) => f.path).sort(),
    message: last.error.message,
    stderr,
  };
}

function inProcessVerdict(document: unknown): { accepted: boolean; paths: string[] } {
  try {
    parseDirective(schema, document);
    return { accepted: true, paths: [] };
  } catch (error) {
    assert(error instanceof DirectiveValidationError, `${error}`);
    return { accepted: false, paths: error.fields.map((f) => f.path).sort() };
  }
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>) {
  const results: R[] = new Array(items.length);
  let next = 0;
  async function lane() {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  }
  await Promise.all(Array.from({ length: limit }, lane));
  return results;
}

const awkward = fc.oneof(
  { weight: 4, arbitrary: fc.string({ minLength: 1, maxLength: 30 }) },
  fc.constantFrom("", "a\u0000b", "'; DROP TABLE directives; --", "x".repeat(4001)),
);
const generated = fc.record({
  type: fc.constantFrom("noop", "echo", "Echo", "unknown_module"),
  issued_by: awkward,
  objective: awkward,
  scope: fc.array(awkward, { maxLength: 3 }),
  constraints: fc.array(fc.string({ minLength: 1, maxLength: 20 }), { maxLength: 2 }),
  success_metrics: fc.array(fc.string({ minLength: 1, maxLength: 20 }), { maxLength: 2 }),
  budget: fc.record({
    amount: fc.constantFrom("1", "10.50", "0", "-1", "abc", 3),
    currency: fc.constantFrom("USD", "EUR", "usd", ""),
  }),
  timebox: fc.constantFrom("30s", "5m", "25h", "", 60, -5),
  payload: fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 3 })),
  idempotency_key: fc.uuid().map((id) => `bad-input-${id}`),
});

Deno.test(`${CLI_SAMPLE} generated documents through the CLI: each outcome matches the in-process verdict; rejected ones write nothing`, async () => {
  const db = await createMigratedDatabase("keel_badin");
  try {
    const documents = fc.sample(generated, { numRuns: CLI_SAMPLE, seed: 20261129 });
    const verdicts = documents.map(inProcessVerdict);
    const outcomes = await pool(
      documents,
      CONCURRENCY,
      (doc) => submitViaCli(db, encoder.encode(JSON.stringify(doc))),
    );
    let accepted = 0;
    outcomes.forEach((outcome, i) => {
      const doc = JSON.stringify(documents[i]).slice(0, 300);
      assertEquals(outcome.accepted, verdicts[i]!.accepted, `document ${i}: ${doc}`);
      assertEquals(outcome.paths, verdicts[i]!.paths, `document ${i}: ${doc}`);
      if (outcome.accepted) accepted++;
    });
    assert(accepted > 0 && accepted < CLI_SAMPLE, `accepted ${accepted} of ${CLI_SAMPLE}`);
    await withSql(db.appUrl, async (sql) => {
      assertEquals(await counts(sql), { directives: accepted, transitions: 2 * accepted });
    });
  } finally {
    await db.drop();
  }
});

function nested(depth: number): unknown {
  let value: unknown = "leaf";
  for (let i = 0; i < depth; i++) value = { d: value };
  return value;
}

/** A document whose payload serialises to exactly `bytes` bytes of JSON. */
function payloadOfSize(bytes: number): Record<string, unknown> {
  return { p: "x".repeat(bytes - JSON.stringify({ p: "" }).length) };
}

Deno.test("limits through the CLI: at the limit accepted, over it rejected naming the field, nothing half-written", async () => {
  const db = await createMigratedDatabase("keel_badin");
  const json = (doc: Record<string, unknown>) => encoder.encode(JSON.stringify(doc));
  const withInvalidUtf8 = (() => {
    const marker = "INVALID_UTF8_HERE";
    const text = JSON.stringify(echoDocument({ objective: `before ${marker} after` }));
    const [head, tail] = text.split(marker) as [string, string];
    return new Uint8Array([...encoder.encode(head), 0xff, 0xfe, 0xc3, ...encoder.encode(tail)]);
  })();
  const cases: { name: string; body: Uint8Array; expect: "accept" | string }[] = [
    {
      name: "payload at the limit",
      body: json(echoDocument({ payload: payloadOfSize(PAYLOAD_MAX_BYTES) })),
      expect: "accept",
    },
    {
      name: "payload one byte over",
      body: json(echoDocument({ payload: payloadOfSize(PAYLOAD_MAX_BYTES + 1) })),
      expect: "payload",
    },
    {
      name: "NUL in objective",
      body: json(echoDocument({ objective: "a\u0000b" })),
      expect: "objective",
    },
    {
      name: "NUL in a payload key",
      body: json(echoDocument({ payload: { "k\u0000": 1 } })),
      expect: "payload",
    },
    {
      name: "lone surrogate in issued_by",
      body: encoder.encode(
        JSON.stringify(echoDocument()).replace('"alice@example.com"', '"\\ud800"'),
      ),
      expect: "issued_by",
    },
    {
      name: "objective at its maximum",
      body: json(echoDocument({ objective: "o".repeat(DIRECTIVE_LIMITS.objectiveMaxLength) })),
      expect: "accept",
    },
    {
      name: "objective one over",
      body: json(echoDocument({ objective: "o".repeat(DIRECTIVE_LIMITS.objectiveMaxLength + 1) })),
      expect: "objective",
    },
    {
      name: "a 2 MiB document",
      body: json(echoDocument({ objective: "o".repeat(2 * 1024 * 1024) })),
      expect: "(document) stdin holds more than 1 MiB",
    },
    {
      name: "payload nested to the maximum depth",
      body: json(echoDocument({ payload: { n: nested(DIRECTIVE_LIMITS.payloadMaxDepth - 1) } })),
      expect: "accept",
    },
    {
      name: "payload nested past the maximum depth",
      body: json(echoDocument({ payload: { n: nested(DIRECTIVE_LIMITS.payloadMaxDepth + 1) } })),
      expect: "payload",
    },
    {
      name: "payload nested 5,000 deep",
      body: json(echoDocument({ payload: { n: nested(5000) } })),
      // The YAML/JSON reader gives up first: a document-level rejection, not a crash.
      expect: "(document) stdin is not valid YAML or JSON",
    },
    {
      name: "invalid UTF-8 bytes in objective",
      body: withInvalidUtf8,
      expect: "(document) stdin is not valid UTF-8",
    },
  ];
  try {
    const outcomes = await pool(cases, CONCURRENCY, (c) => submitViaCli(db, c.body));
    const summary = cases.map((c, i) => {
      const o = outcomes[i]!;
      if (o.accepted) return [c.name, "accept"];
      if (o.paths.length > 0) return [c.name, o.paths.join(",")];
      // Document-level rejections: compare the message's leading words.
      return [
        c.name,
        c.expect.startsWith("(document)")
          ? `(document) ${o.message}`.slice(0, c.expect.length)
          : `(document) ${o.message}`,
      ];
    });
    assertEquals(summary, cases.map((c) => [c.name, c.expect]));
    const accepted = cases.filter((c) => c.expect === "accept").length;
    await withSql(db.appUrl, async (sql) => {
      assertEquals(await counts(sql), { directives: accepted, transitions: 2 * accepted });
    });
  } finally {
    await db.drop();
  }
});

const API_DOCUMENTS = 1000;

Deno.test({
  name:
    `${API_DOCUMENTS} generated documents through the HTTP API: accepted, or 400 naming the fields; nothing half-written`,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // A real dev server so accepted directives start their loops; no worker runs them.
    const h = await startLoopHarness({ noWorker: true });
    const { token, entry } = await testToken("fuzzer", ["submit"]);
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      createHandler({
        sql: h.sql,
        target: h.target,
        schema,
        tokens: [entry],
        maxBodyBytes: 256 * 1024,
      }),
    );
    try {
      const documents = fc.sample(generated, { numRuns: API_DOCUMENTS, seed: 20261130 });
      const statuses = new Map<number, number>();
      const outcomes = await pool(documents, 8, async (doc) => {
        const response = await fetch(`http://127.0.0.1:${server.addr.port}/api/directives`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
          body: JSON.stringify(doc),
        });
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        const body = await response.json();
        if (response.status === 201) return { accepted: true, paths: [] as string[] };
        assertEquals(response.status, 400, JSON.stringify(body));
        assertEquals(response.headers.get("content-type"), "application/problem+json");
        const errors = (body.errors ?? []) as { path: string; message: string }[];
        for (const e of errors) assert(e.message.length > 0);
        return { accepted: false, paths: errors.map((e) => e.path).sort() };
      });
      let accepted = 0;
      outcomes.forEach((outcome, i) => {
        const verdict = inProcessVerdict(documents[i]);
        const doc = JSON.stringify(documents[i]).slice(0, 300);
        assertEquals(outcome.accepted, verdict.accepted, `document ${i}: ${doc}`);
        assertEquals(outcome.paths, verdict.paths, `document ${i}: ${doc}`);
        if (outcome.accepted) accepted++;
      });
      console.log(
        `API: ${API_DOCUMENTS} documents, ${accepted} accepted, ${
          API_DOCUMENTS - accepted
        } rejected; HTTP statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
      );
      assert(accepted > 0 && accepted < API_DOCUMENTS, `accepted ${accepted}`);
      assertEquals(await counts(h.sql), { directives: accepted, transitions: 2 * accepted });
    } finally {
      await server.shutdown();
      await h.stop();
    }
  },
});

Deno.test(`${API_DOCUMENTS} generated documents through the CLI (keel submit --batch): each line accepted or rejected naming its fields`, async () => {
  const db = await createMigratedDatabase("keel_batch");
  try {
    const documents = fc.sample(generated, { numRuns: API_DOCUMENTS, seed: 20261201 });
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-P=cli", "src/cli/keel.ts", "--json", "submit", "--batch", "-"],
      clearEnv: true,
      env: { NO_COLOR: "1", DATABASE_URL: db.appUrl, TEMPORAL_ADDRESS: "127.0.0.1:1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(encoder.encode(documents.map((d) => JSON.stringify(d)).join("\n")));
    await writer.close();
    const output = await child.output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert(!/panic|Uncaught|stack backtrace/i.test(stderr), `the CLI crashed: ${stderr}`);
    const results = new TextDecoder().decode(output.stdout).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assertEquals(results.length, API_DOCUMENTS);
    let accepted = 0;
    results.forEach((result, i) => {
      assertEquals(result.line, i + 1);
      const verdict = inProcessVerdict(documents[i]);
      const paths = result.error
        ? (result.error.fields as { path: string }[]).map((f) => f.path).sort()
        : [];
      assertEquals({ accepted: result.event === "submitted", paths }, verdict, `line ${i + 1}`);
      if (result.event === "submitted") accepted++;
    });
    assertEquals(output.code, 4, "some lines were invalid");
    assertStringIncludes(
      stderr,
      `batch: ${accepted} accepted, ${API_DOCUMENTS - accepted} invalid`,
    );
    console.log(
      `CLI batch: ${API_DOCUMENTS} documents, ${accepted} accepted, ${
        API_DOCUMENTS - accepted
      } rejected`,
    );
    await withSql(db.appUrl, async (sql) => {
      assertEquals(await counts(sql), { directives: accepted, transitions: 2 * accepted });
    });
  } finally {
    await db.drop();
  }
});
