/**
 * Remembering completed directives: with an embeddings provider (a local
 * server speaking the OpenAI embeddings wire format, which counts its calls),
 * the worker's indexer embeds each completed directive once, charged to its
 * own budget, and a memory search finds it by meaning.
 */
import { assert, assertEquals } from "@std/assert";
import { createOpenAiEmbeddingsProvider } from "../src/embeddings/mod.ts";
import { get, post, testToken, withApi } from "./_api.ts";
import { echoDocument } from "./_directives.ts";
import { eventually } from "./_loop.ts";
import { type ReceivedRequest, startWireServer } from "./_wire_server.ts";

const MODEL = "text-embedding-3-small";

/** A vector by topic: invoices, deployments, anything else. */
function vectorOf(text: string): number[] {
  if (/invoice/i.test(text)) return [1, 0, 0];
  if (/deploy/i.test(text)) return [0, 1, 0];
  return [0, 0, 1];
}

function embeddingsReply(request: ReceivedRequest) {
  const inputs = (request.body as { input: string[] }).input;
  return {
    json: {
      object: "list",
      model: MODEL,
      data: inputs.map((text, index) => ({
        object: "embedding",
        index,
        embedding: vectorOf(text),
      })),
      usage: { prompt_tokens: 12, total_tokens: 12 },
    },
  };
}

Deno.test({
  name: "memory: each completed directive embedded once on its own budget; search goes by meaning",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const wire = startWireServer(embeddingsReply);
    const embeddings = createOpenAiEmbeddingsProvider({
      apiKey: "sk-test",
      baseUrl: wire.url,
      timeoutMs: 5000,
    });
    const memory = { embeddings, model: MODEL };
    const reader = await testToken("reader", ["read"]);
    const agent = await testToken("agent", ["submit"]);
    try {
      await withApi({ tokens: [reader.entry, agent.entry], memory }, async (base, h) => {
        const ids: Record<string, string> = {};
        const objectives: [string, string][] = [
          ["invoice", "Pay the March invoice"],
          ["deploy", "Deploy the staging build"],
        ];
        for (const [name, objective] of objectives) {
          const created = await post(
            `${base}/api/directives`,
            echoDocument({
              type: "noop",
              objective,
              payload: {},
              budget: { amount: "0.50", currency: "USD" },
            }),
            agent.token,
          );
          assertEquals(created.status, 201);
          ids[name] = (await created.json()).directive.id;
        }
        const remembered = () =>
          h.sql<{ source_id: string; content: string }[]>`
            SELECT source_id, content FROM memory_embeddings
             WHERE source_type = 'directive' AND model = ${MODEL} ORDER BY source_id`;
        await eventually(async () => (await remembered()).length === 2, "two memories", 60_000);
        // Quiet for 3 s: nothing is embedded twice.
        await new Promise((resolve) => setTimeout(resolve, 3000));
        assertEquals(wire.received.length, 2, "one embedding call per completed directive");
        const rows = await remembered();
        assertEquals(rows.map((r) => r.source_id).sort(), [ids.invoice, ids.deploy].sort());
        assert(rows.every((r) => r.content.includes("noop directive, completed")));
        // Each call was reserved and charged on the directive's own budget.
        for (const id of Object.values(ids)) {
          const budget = await h.sql<{ status: string }[]>`
            SELECT status FROM budget_ledger
             WHERE directive_id = ${id} AND idempotency_key = ${`memory/${id}/${MODEL}`}
             ORDER BY version`;
          assertEquals(budget.map((b) => b.status), ["reserved", "charged"]);
        }

        const answer = await get(
          `${base}/api/memory/search?q=${encodeURIComponent("invoices paid")}`,
          reader.token,
        );
        assertEquals(answer.status, 200);
        const found = await answer.json();
        assertEquals(found.mode, "semantic");
        assertEquals(found.hits[0].directiveId, ids.invoice);
        assertEquals(found.hits[0].score, 1);
        assertEquals(wire.received.length, 3, "the query was embedded once");
      }, { memory });
    } finally {
      await wire.close();
    }
  },
});
