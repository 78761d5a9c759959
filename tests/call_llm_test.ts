/**
 * The `callLlm` activity on a real Temporal dev server and a real Postgres,
 * against a local server speaking the Anthropic wire format: the retry storm
 * charges once, a directive at its ceiling is refused before any request, and
 * every attempt leaves metadata-only `llm_call` and `llm_usage` artifacts.
 */
import { Client, WorkflowFailedError } from "@temporalio/client";
import { ActivityFailure, ApplicationFailure } from "@temporalio/common";
import { NativeConnection, Worker } from "@temporalio/worker";
import { assert, assertEquals } from "@std/assert";
import { createLlmActivities } from "../src/activities/llm.ts";
import type { CallLlmResult } from "../src/activities/llm.ts";
import {
  charge,
  createAnthropicProvider,
  priceOf,
  reserve,
  spendOf,
  worstCaseCost,
} from "../src/llm/mod.ts";
import { createLogger } from "../src/telemetry/log.ts";
import type { llmCallWorkflow } from "../src/workflows/llm/workflows.ts";
import type { Sql } from "../src/db/mod.ts";
import { createMigratedDatabase, withSql } from "./_db.ts";
import { startDevServer } from "./_temporal.ts";
import { type Reply, startWireServer } from "./_wire_server.ts";
import { insertDirective, ledgerHistory, ledgerRows } from "./_llm_fixtures.ts";

const API_KEY = "sk-ant-call-llm-test-key";
const PROMPT = "PROMPT-BODY-must-not-reach-artifacts";
const SYSTEM = "SYSTEM-BODY-must-not-reach-artifacts";
const ANSWER = "ANSWER-BODY-must-not-reach-artifacts";
const TASK_QUEUE = "llm-test";

const OK: Reply = {
  json: {
    id: "msg_01",
    type: "message",
    role: "assistant",
    model: "claude-sonnet-4-5-20250929",
    content: [{ type: "text", text: ANSWER }],
    stop_reason: "end_turn",
    stop_sequence: null,
    // 12 × $3/M + 40 × $15/M = $0.000636 → charged as 0.0007.
    usage: { input_tokens: 12, output_tokens: 40 },
  },
};
const COST = "0.0007";

function serverError(): Reply {
  return { status: 500, json: { type: "error", error: { type: "api_error", message: "boom" } } };
}

function request(directiveId: string, overrides: Record<string, unknown> = {}) {
  return {
    directiveId,
    model: "claude-sonnet-4-5",
    system: SYSTEM,
    messages: [{ role: "user", content: PROMPT }],
    maxTokens: 100,
    ...overrides,
  };
}

interface Artifact {
  kind: string;
  content_type: string;
  text: string;
  json: Record<string, unknown>;
}

async function artifactsOf(sql: Sql, directiveId: string): Promise<Artifact[]> {
  const rows = await sql<{ kind: string; content_type: string; inline_content: Uint8Array }[]>`
    SELECT kind, content_type, inline_content FROM artifacts
    WHERE directive_id = ${directiveId} ORDER BY created_at, kind`;
  return rows.map((row) => {
    const text = new TextDecoder().decode(row.inline_content);
    return { kind: row.kind, content_type: row.content_type, text, json: JSON.parse(text) };
  });
}

function calls(artifacts: Artifact[]): Record<string, unknown>[] {
  return artifacts.filter((a) => a.kind === "llm_call").map((a) => a.json)
    .sort((a, b) => Number(a.attempt) - Number(b.attempt));
}

function applicationFailure(error: unknown): ApplicationFailure {
  assert(error instanceof WorkflowFailedError, `expected a workflow failure, got ${error}`);
  const activity = error.cause;
  assert(activity instanceof ActivityFailure, `expected an activity failure, got ${activity}`);
  const cause = activity.cause;
  assert(cause instanceof ApplicationFailure, `expected an application failure, got ${cause}`);
  return cause;
}

Deno.test({
  name: "callLlm on a real worker",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const temporal = await startDevServer();
    const db = await createMigratedDatabase();
    const wire = startWireServer(() => OK);
    // Attempts below this number fail after the charge, as a crashed worker would.
    let crashBelowAttempt = 0;
    try {
      await withSql(db.appUrl, async (sql) => {
        const connection = await NativeConnection.connect({ address: temporal.address });
        const worker = await Worker.create({
          connection,
          taskQueue: TASK_QUEUE,
          workflowsPath: new URL("../src/workflows/llm/workflows.ts", import.meta.url).pathname,
          activities: createLlmActivities({
            sql,
            llm: createAnthropicProvider({ apiKey: API_KEY, baseUrl: wire.url, timeoutMs: 5_000 }),
            log: createLogger({ level: "error", service: "call-llm-test" }),
            beforeReturn(attempt) {
              if (attempt < crashBelowAttempt) {
                throw new Error(`injected crash after the charge, attempt ${attempt}`);
              }
            },
          }),
        });
        const running = worker.run();
        const client = new Client({ connection });
        const call = (input: unknown, maximumAttempts = 5): Promise<CallLlmResult> =>
          client.workflow.execute<typeof llmCallWorkflow>("llmCallWorkflow", {
            taskQueue: TASK_QUEUE,
            workflowId: `llm-${crypto.randomUUID()}`,
            args: [{ request: input, maximumAttempts }],
          });
        try {
          await t.step("a call is charged once and leaves metadata-only artifacts", async () => {
            const id = await insertDirective(sql, { amount: "1.00", currency: "USD" });
            const before = wire.received.length;
            const result = await call(request(id));
            assertEquals(result.text, ANSWER);
            assertEquals(result.charged, { amount: COST, currency: "USD" });
            assertEquals(result.replayed, false);
            assertEquals(wire.received.length - before, 1);
            assertEquals(wire.received.at(-1)?.headers["x-api-key"], API_KEY);
            const [row, ...more] = await ledgerRows(sql, id);
            assertEquals(more, []);
            assertEquals(
              [row?.status, row?.amount, row?.input_tokens, row?.output_tokens, row?.attempts],
              ["charged", COST, 12, 40, 1],
            );
            assertEquals(
              (await ledgerHistory(sql, id)).map(([, version, status]) => [version, status]),
              [[1, "reserved"], [2, "charged"]],
            );
            const artifacts = await artifactsOf(sql, id);
            assertEquals(artifacts.map((a) => a.kind).sort(), ["llm_call", "llm_usage"]);
            for (const artifact of artifacts) {
              assertEquals(artifact.content_type, "application/json");
              for (const secret of [PROMPT, SYSTEM, ANSWER, API_KEY]) {
                assert(!artifact.text.includes(secret), `${artifact.kind} holds "${secret}"`);
              }
            }
            const [llmCall] = calls(artifacts);
            assertEquals(llmCall?.outcome, "ok");
            assertEquals(llmCall?.model, "claude-sonnet-4-5");
            assertEquals(llmCall?.response_model, "claude-sonnet-4-5-20250929");
            assertEquals(llmCall?.provider, "anthropic");
            assertEquals(typeof llmCall?.latency_ms, "number");
            const usage = artifacts.find((a) => a.kind === "llm_usage")?.json;
            assertEquals(
              [usage?.input_tokens, usage?.output_tokens, usage?.total_tokens, usage?.charged],
              [12, 40, 52, { amount: COST, currency: "USD" }],
            );
          });

          await t.step(
            "retry storm: 4 × HTTP 500 then success, 5 attempts, charged once",
            async () => {
              const id = await insertDirective(sql, { amount: "1.00", currency: "USD" });
              const before = wire.received.length;
              wire.reply(serverError(), serverError(), serverError(), serverError());
              const result = await call(request(id), 5);
              assertEquals(result.text, ANSWER);
              assertEquals(wire.received.length - before, 5, "the provider saw 5 requests");
              const rows = await ledgerRows(sql, id);
              assertEquals(rows.length, 1);
              assertEquals([rows[0]?.status, rows[0]?.amount, rows[0]?.attempts], [
                "charged",
                COST,
                5,
              ]);
              assertEquals(await spendOf(sql, id), { charged: COST, reserved: "0.0000" });
              // Each attempt appended its reservation and its release; the last, its charge.
              const history = await ledgerHistory(sql, id);
              assertEquals(
                history.map(([, version, status]) => [version, status]),
                [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((v) => [
                  v,
                  v === 10 ? "charged" : v % 2 === 1 ? "reserved" : "released",
                ]),
              );
              const attempts = calls(await artifactsOf(sql, id));
              assertEquals(
                attempts.map((a) => [a.attempt, a.outcome, (a.error as { kind?: string })?.kind]),
                [
                  [1, "error", "server_error"],
                  [2, "error", "server_error"],
                  [3, "error", "server_error"],
                  [4, "error", "server_error"],
                  [5, "ok", undefined],
                ],
              );
              console.log(
                `retry storm (4×500 then 200): provider requests=5, activity attempts=5, ` +
                  `ledger keys=${rows.length}, budget rows=${history.length}, ` +
                  `charged=${rows[0]?.amount} USD (one call's cost)`,
              );
            },
          );

          await t.step(
            "retry storm: charged, then 4 crashes after the charge: one request, charged once",
            async () => {
              const id = await insertDirective(sql, { amount: "1.00", currency: "USD" });
              const before = wire.received.length;
              crashBelowAttempt = 5;
              let result: CallLlmResult;
              try {
                result = await call(request(id), 5);
              } finally {
                crashBelowAttempt = 0;
              }
              assertEquals(result.text, ANSWER, "the fifth attempt returns the recorded answer");
              assertEquals(result.replayed, true);
              assertEquals(result.charged, { amount: COST, currency: "USD" });
              assertEquals(wire.received.length - before, 1, "the provider saw one request");
              const rows = await ledgerRows(sql, id);
              assertEquals(rows.map((r) => [r.status, r.amount]), [["charged", COST]]);
              assertEquals(await spendOf(sql, id), { charged: COST, reserved: "0.0000" });
              // The four replays appended nothing.
              const history = await ledgerHistory(sql, id);
              assertEquals(history.map(([, version, status]) => [version, status]), [
                [1, "reserved"],
                [2, "charged"],
              ]);
              const attempts = calls(await artifactsOf(sql, id));
              assertEquals(attempts.map((a) => [a.attempt, a.outcome]), [
                [1, "ok"],
                [2, "replayed"],
                [3, "replayed"],
                [4, "replayed"],
                [5, "replayed"],
              ]);
              console.log(
                `retry storm (charged, then 4 crashes): provider requests=1, activity attempts=5, ` +
                  `ledger keys=${rows.length}, budget rows=${history.length}, ` +
                  `charged=${rows[0]?.amount} USD`,
              );
            },
          );

          await t.step("a directive at its ceiling is refused before any request", async () => {
            const id = await insertDirective(sql, { amount: "0.0010", currency: "USD" });
            await reserve(sql, {
              directiveId: id,
              key: "earlier-call",
              provider: "anthropic",
              model: "claude-sonnet-4-5",
              estimate: "0.0010",
              currency: "USD",
            });
            await charge(sql, "earlier-call", {
              amount: "0.0010",
              inputTokens: 1,
              outputTokens: 1,
              response: null,
            });
            const before = wire.received.length;
            let failure: ApplicationFailure | undefined;
            try {
              await call(request(id), 5);
            } catch (error) {
              failure = applicationFailure(error);
            }
            assertEquals(failure?.type, "BudgetExceededError");
            assertEquals(failure?.nonRetryable, true);
            assert(failure?.message.includes("over the budget of 0.0010 USD"), failure?.message);
            assertEquals(wire.received.length - before, 0, "the provider saw no request");
            assertEquals((await ledgerRows(sql, id)).map((r) => r.idempotency_key), [
              "earlier-call",
            ]);
            assertEquals(calls(await artifactsOf(sql, id)).map((a) => [a.attempt, a.outcome]), [
              [1, "refused"],
            ]);
          });

          await t.step("a 401 is not retried and costs nothing", async () => {
            const id = await insertDirective(sql, { amount: "1.00", currency: "USD" });
            const before = wire.received.length;
            wire.reply({
              status: 401,
              json: { type: "error", error: { type: "authentication_error", message: "bad key" } },
            });
            let failure: ApplicationFailure | undefined;
            try {
              await call(request(id), 5);
            } catch (error) {
              failure = applicationFailure(error);
            }
            assertEquals([failure?.type, failure?.nonRetryable], [
              "ProviderError.authentication",
              true,
            ]);
            assertEquals(wire.received.length - before, 1);
            assertEquals((await ledgerRows(sql, id)).map((r) => [r.status, r.amount]), [
              ["released", "0.0000"],
            ]);
            const [only] = calls(await artifactsOf(sql, id));
            assertEquals(only?.error, { kind: "authentication", retryable: false, status: 401 });
          });

          await t.step("a malformed 200 is not retried and is charged its worst case", async () => {
            const id = await insertDirective(sql, { amount: "1.00", currency: "USD" });
            const before = wire.received.length;
            wire.reply({ raw: '{"type":"message","content":[' });
            let failure: ApplicationFailure | undefined;
            try {
              await call(request(id), 5);
            } catch (error) {
              failure = applicationFailure(error);
            }
            assertEquals([failure?.type, failure?.nonRetryable], [
              "ProviderError.malformed_response",
              true,
            ]);
            assertEquals(wire.received.length - before, 1);
            const worst = worstCaseCost(priceOf("claude-sonnet-4-5")!, {
              system: SYSTEM,
              messages: [{ content: PROMPT }],
              maxTokens: 100,
            });
            assertEquals((await ledgerRows(sql, id)).map((r) => [r.status, r.amount]), [
              ["charged", worst],
            ]);
            const usage = (await artifactsOf(sql, id)).find((a) => a.kind === "llm_usage")?.json;
            assertEquals(usage?.charged, { amount: worst, currency: "USD" });
          });

          await t.step("a 429 with retry-after is retried and then charged once", async () => {
            const id = await insertDirective(sql, { amount: "1.00", currency: "USD" });
            const before = wire.received.length;
            wire.reply({
              status: 429,
              headers: { "retry-after": "1" },
              json: { type: "error", error: { type: "rate_limit_error", message: "slow down" } },
            });
            const result = await call(request(id), 3);
            assertEquals(result.charged, { amount: COST, currency: "USD" });
            assertEquals(wire.received.length - before, 2);
            assertEquals((await ledgerRows(sql, id)).map((r) => [r.status, r.attempts]), [
              ["charged", 2],
            ]);
            assertEquals((await ledgerHistory(sql, id)).map(([, , status]) => status), [
              "reserved",
              "released",
              "reserved",
              "charged",
            ]);
          });

          await t.step(
            "an invalid request names its fields and leaves nothing behind",
            async () => {
              const id = await insertDirective(sql, { amount: "1.00", currency: "USD" });
              const count = async () => {
                const [row] = await sql<{ ledger: number; artifacts: number }[]>`
                SELECT (SELECT count(*)::int FROM budget_ledger) AS ledger,
                       (SELECT count(*)::int FROM artifacts) AS artifacts`;
                return row;
              };
              const before = { counts: await count(), requests: wire.received.length };
              let failure: ApplicationFailure | undefined;
              try {
                await call(request(id, { maxTokens: 0, messages: [] }), 5);
              } catch (error) {
                failure = applicationFailure(error);
              }
              assertEquals([failure?.type, failure?.nonRetryable], ["InvalidLlmRequest", true]);
              assert(/messages: .*; maxTokens: /.test(failure?.message ?? ""), failure?.message);
              assertEquals(await count(), before.counts);
              assertEquals(wire.received.length, before.requests);
            },
          );
        } finally {
          worker.shutdown();
          await running;
          await connection.close();
        }
      });
    } finally {
      await wire.close();
      await db.drop();
      await temporal.stop();
    }
  },
});
