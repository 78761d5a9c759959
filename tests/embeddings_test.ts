/**
 * The OpenAI embeddings provider against a local server speaking the
 * embeddings wire format: the request, the vectors in input order, usage and
 * cost, and every failure mapped to the error taxonomy. Also the NoOp default.
 */
import { assert, assertEquals, assertRejects } from "@std/assert";
import {
  createEmbeddingsProvider,
  createOpenAiEmbeddingsProvider,
  type EmbeddingRequest,
} from "../src/embeddings/mod.ts";
import { ProviderError } from "../src/llm/mod.ts";
import { parseProvidersConfig } from "../src/config/mod.ts";
import { type Reply, startWireServer } from "./_wire_server.ts";

const API_KEY = "sk-openai-test-key-never-echoed";

const REQUEST: EmbeddingRequest = {
  model: "text-embedding-3-small",
  inputs: ["first text", "second text"],
  dimensions: 3,
};

function embeddings(overrides: Record<string, unknown> = {}): Reply {
  return {
    json: {
      object: "list",
      // Out of order on purpose: the provider must sort by index.
      data: [
        { object: "embedding", index: 1, embedding: [0.4, 0.5, 0.6] },
        { object: "embedding", index: 0, embedding: [0.1, 0.2, 0.3] },
      ],
      model: "text-embedding-3-small",
      usage: { prompt_tokens: 6, total_tokens: 6 },
      ...overrides,
    },
  };
}

function apiError(
  status: number,
  error: { type: string; code?: string | null },
  headers: Record<string, string> = {},
): Reply {
  return {
    status,
    headers,
    json: { error: { message: `scripted ${error.type}`, param: null, code: null, ...error } },
  };
}

async function withProvider(
  fn: (
    provider: ReturnType<typeof createOpenAiEmbeddingsProvider>,
    server: ReturnType<typeof startWireServer>,
  ) => Promise<void>,
  timeoutMs = 2_000,
): Promise<void> {
  const server = startWireServer(() => embeddings());
  try {
    await fn(
      createOpenAiEmbeddingsProvider({ apiKey: API_KEY, baseUrl: server.url, timeoutMs }),
      server,
    );
  } finally {
    await server.close();
  }
}

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await assertRejects(() => promise, ProviderError);
  assert(!error.message.includes(API_KEY), `the message leaks the key: ${error.message}`);
  return error;
}

Deno.test("openai: sends an embeddings request and returns vectors in input order", async () => {
  await withProvider(async (provider, server) => {
    const response = await provider.embed(REQUEST);
    assertEquals(response, {
      model: "text-embedding-3-small",
      vectors: [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]],
      dimensions: 3,
      // 6 × $0.02/M = $0.00000012, rounded up to the ledger's 4 places.
      usage: {
        inputTokens: 6,
        outputTokens: 0,
        totalTokens: 6,
        estimatedCost: { amount: "0.0001", currency: "USD" },
      },
    });
    const [sent] = server.received;
    assertEquals(sent?.path, "/v1/embeddings");
    assertEquals(sent?.headers["authorization"], `Bearer ${API_KEY}`);
    assertEquals(sent?.body, {
      model: "text-embedding-3-small",
      input: ["first text", "second text"],
      encoding_format: "float",
      dimensions: 3,
    });
  });
});

Deno.test("openai: every failure maps to the taxonomy with its retryable flag", async (t) => {
  const cases: {
    name: string;
    reply: Reply;
    kind: string;
    retryable: boolean;
    status?: number;
    retryAfterMs?: number;
  }[] = [
    {
      name: "400 invalid_request_error",
      reply: apiError(400, { type: "invalid_request_error" }),
      kind: "invalid_request",
      retryable: false,
      status: 400,
    },
    {
      name: "401 invalid_api_key",
      reply: apiError(401, { type: "invalid_request_error", code: "invalid_api_key" }),
      kind: "authentication",
      retryable: false,
      status: 401,
    },
    {
      name: "429 rate_limit_exceeded with retry-after",
      reply: apiError(429, { type: "requests", code: "rate_limit_exceeded" }, {
        "retry-after": "2",
      }),
      kind: "rate_limited",
      retryable: true,
      status: 429,
      retryAfterMs: 2_000,
    },
    {
      name: "429 insufficient_quota (waiting does not help)",
      reply: apiError(429, { type: "insufficient_quota", code: "insufficient_quota" }),
      kind: "permission",
      retryable: false,
      status: 429,
    },
    {
      name: "500 server_error",
      reply: apiError(500, { type: "server_error" }),
      kind: "server_error",
      retryable: true,
      status: 500,
    },
    {
      name: "503 overloaded",
      reply: { status: 503, raw: "upstream unavailable" },
      kind: "overloaded",
      retryable: true,
      status: 503,
    },
    {
      name: "200 with malformed JSON",
      reply: { raw: '{"object":"list","data":[{' },
      kind: "malformed_response",
      retryable: false,
      status: 200,
    },
    {
      name: "200 with fewer vectors than inputs",
      reply: embeddings({ data: [{ object: "embedding", index: 0, embedding: [1, 2, 3] }] }),
      kind: "malformed_response",
      retryable: false,
      status: 200,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      await withProvider(async (provider, server) => {
        server.reply(c.reply);
        const error = await failure(provider.embed(REQUEST));
        assertEquals(error.kind, c.kind);
        assertEquals(error.retryable, c.retryable);
        assertEquals(error.status, c.status);
        assertEquals(error.retryAfterMs, c.retryAfterMs);
        assertEquals(error.provider, "openai");
      });
    });
  }
});

Deno.test("openai: a server that never answers is a retryable timeout", async () => {
  await withProvider(async (provider, server) => {
    server.reply({ hang: true });
    const error = await failure(provider.embed(REQUEST));
    assertEquals([error.kind, error.retryable], ["timeout", true]);
  }, 200);
});

Deno.test("embeddings: noop is the default and refuses as disabled; openai needs a key", async () => {
  const config = parseProvidersConfig({});
  assertEquals(config.embeddings, { kind: "noop" });
  const error = await assertRejects(
    () => createEmbeddingsProvider(config.embeddings).embed(REQUEST),
    ProviderError,
  );
  assertEquals([error.kind, error.retryable], ["disabled", false]);
  assert(error.message.includes("KEEL_EMBEDDINGS_PROVIDER"), error.message);
  let missing: unknown;
  try {
    parseProvidersConfig({ KEEL_EMBEDDINGS_PROVIDER: "openai" });
  } catch (e) {
    missing = e;
  }
  assert(missing instanceof Error && /OPENAI_API_KEY.*required/.test(missing.message));
});
