/**
 * The Anthropic provider against a local server speaking the Messages API wire
 * format: the request it sends, the normalized answer, and every failure mapped
 * to the error taxonomy with its retryable flag. Also the NoOp default.
 */
import { assert, assertEquals, assertRejects } from "@std/assert";
import {
  ANTHROPIC_VERSION,
  createAnthropicProvider,
  createLlmProvider,
  type LlmRequest,
  ProviderError,
} from "../src/llm/mod.ts";
import { parseProvidersConfig } from "../src/config/mod.ts";
import { type Reply, startWireServer } from "./_wire_server.ts";
import {
  INVALID_SPAN_CONTEXT,
  type Span,
  type SpanOptions,
  SpanStatusCode,
  trace,
  type Tracer,
} from "@opentelemetry/api";

const API_KEY = "sk-ant-test-key-never-echoed";

const REQUEST: LlmRequest = {
  model: "claude-sonnet-4-5",
  system: "You are terse.",
  messages: [{ role: "user", content: "Say hello" }],
  maxTokens: 64,
  temperature: 0,
};

function message(overrides: Record<string, unknown> = {}): Reply {
  return {
    json: {
      id: "msg_01",
      type: "message",
      role: "assistant",
      model: "claude-sonnet-4-5-20250929",
      content: [{ type: "text", text: "Hello" }, { type: "text", text: "!" }],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: { input_tokens: 12, output_tokens: 40 },
      ...overrides,
    },
  };
}

function apiError(status: number, type: string, headers: Record<string, string> = {}): Reply {
  return {
    status,
    headers: { "request-id": "req_01", ...headers },
    json: { type: "error", error: { type, message: `scripted ${type}` } },
  };
}

async function withProvider(
  fn: (
    provider: ReturnType<typeof createAnthropicProvider>,
    server: ReturnType<typeof startWireServer>,
  ) => Promise<void>,
  timeoutMs = 2_000,
): Promise<void> {
  const server = startWireServer(() => message());
  try {
    await fn(createAnthropicProvider({ apiKey: API_KEY, baseUrl: server.url, timeoutMs }), server);
  } finally {
    await server.close();
  }
}

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await assertRejects(() => promise, ProviderError);
  assert(!error.message.includes(API_KEY), `the message leaks the key: ${error.message}`);
  return error;
}

Deno.test("anthropic: sends a Messages API request and normalizes the answer and usage", async () => {
  await withProvider(async (provider, server) => {
    const response = await provider.complete(REQUEST);
    assertEquals(response, {
      model: "claude-sonnet-4-5-20250929",
      text: "Hello!",
      stopReason: "end_turn",
      usage: {
        inputTokens: 12,
        outputTokens: 40,
        totalTokens: 52,
        // 12 × $3/M + 40 × $15/M = $0.000636, rounded up to 4 places.
        estimatedCost: { amount: "0.0007", currency: "USD" },
      },
    });
    assertEquals(server.received.length, 1);
    const [sent] = server.received;
    assertEquals(sent?.method, "POST");
    assertEquals(sent?.path, "/v1/messages");
    assertEquals(sent?.headers["x-api-key"], API_KEY);
    assertEquals(sent?.headers["anthropic-version"], ANTHROPIC_VERSION);
    assertEquals(sent?.headers["content-type"], "application/json");
    assertEquals(sent?.body, {
      model: "claude-sonnet-4-5",
      max_tokens: 64,
      messages: [{ role: "user", content: "Say hello" }],
      system: "You are terse.",
      temperature: 0,
    });
  });
});

Deno.test("anthropic: cached input tokens count as input", async () => {
  await withProvider(async (provider, server) => {
    server.reply(message({
      usage: {
        input_tokens: 10,
        output_tokens: 5,
        cache_creation_input_tokens: 100,
        cache_read_input_tokens: 1000,
      },
    }));
    const { usage } = await provider.complete(REQUEST);
    assertEquals([usage.inputTokens, usage.outputTokens, usage.totalTokens], [1110, 5, 1115]);
  });
});

Deno.test("anthropic: every failure maps to the taxonomy with its retryable flag", async (t) => {
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
      reply: apiError(400, "invalid_request_error"),
      kind: "invalid_request",
      retryable: false,
      status: 400,
    },
    {
      name: "401 authentication_error",
      reply: apiError(401, "authentication_error"),
      kind: "authentication",
      retryable: false,
      status: 401,
    },
    {
      name: "403 permission_error",
      reply: apiError(403, "permission_error"),
      kind: "permission",
      retryable: false,
      status: 403,
    },
    {
      name: "429 rate_limit_error with retry-after",
      reply: apiError(429, "rate_limit_error", { "retry-after": "7" }),
      kind: "rate_limited",
      retryable: true,
      status: 429,
      retryAfterMs: 7_000,
    },
    {
      name: "500 api_error",
      reply: apiError(500, "api_error"),
      kind: "server_error",
      retryable: true,
      status: 500,
    },
    {
      name: "529 overloaded_error",
      reply: apiError(529, "overloaded_error"),
      kind: "overloaded",
      retryable: true,
      status: 529,
    },
    {
      name: "502 with an HTML body (a proxy, not the API)",
      reply: { status: 502, raw: "<html>bad gateway</html>" },
      kind: "server_error",
      retryable: true,
      status: 502,
    },
    {
      name: "200 with malformed JSON",
      reply: { raw: '{"type":"message","content":[' },
      kind: "malformed_response",
      retryable: false,
      status: 200,
    },
    {
      name: "200 with JSON that is not a message",
      reply: { json: { type: "message", content: "not an array" } },
      kind: "malformed_response",
      retryable: false,
      status: 200,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      await withProvider(async (provider, server) => {
        server.reply(c.reply);
        const error = await failure(provider.complete(REQUEST));
        assertEquals(error.kind, c.kind);
        assertEquals(error.retryable, c.retryable);
        assertEquals(error.status, c.status);
        assertEquals(error.retryAfterMs, c.retryAfterMs);
        assertEquals(error.provider, "anthropic");
      });
    });
  }
});

Deno.test("anthropic: a server that never answers is a retryable timeout", async () => {
  await withProvider(async (provider, server) => {
    server.reply({ hang: true });
    const error = await failure(provider.complete(REQUEST));
    assertEquals([error.kind, error.retryable, error.status], ["timeout", true, undefined]);
    assertEquals(error.message, "POST /v1/messages to anthropic timed out after 200 ms");
  }, 200);
});

Deno.test("anthropic: a refused connection is a retryable network error", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const provider = createAnthropicProvider({
    apiKey: API_KEY,
    baseUrl: `http://127.0.0.1:${port}`,
    timeoutMs: 2_000,
  });
  const error = await failure(provider.complete(REQUEST));
  assertEquals([error.kind, error.retryable], ["network", true]);
});

Deno.test("retry-after as an HTTP date and retry-after-ms are read too", async () => {
  await withProvider(async (provider, server) => {
    server.reply(apiError(429, "rate_limit_error", { "retry-after-ms": "250" }));
    assertEquals((await failure(provider.complete(REQUEST))).retryAfterMs, 250);
    const later = new Date(Date.now() + 3_600_000).toUTCString();
    server.reply(apiError(429, "rate_limit_error", { "retry-after": later }));
    const ms = (await failure(provider.complete(REQUEST))).retryAfterMs ?? 0;
    assert(ms > 3_000_000 && ms <= 3_600_000, `retry-after date read as ${ms} ms`);
  });
});

Deno.test("noop is the default and refuses every call as disabled, sending nothing", async () => {
  const config = parseProvidersConfig({});
  assertEquals(config.llm, { kind: "noop" });
  const provider = createLlmProvider(config.llm);
  const error = await assertRejects(() => provider.complete(REQUEST), ProviderError);
  assertEquals([error.kind, error.retryable, error.provider], ["disabled", false, "noop"]);
  assert(error.message.includes("KEEL_LLM_PROVIDER"), error.message);
});

Deno.test("config: anthropic needs a key, and a bad setting never echoes the key", () => {
  assertEquals(
    parseProvidersConfig({ KEEL_LLM_PROVIDER: "anthropic", ANTHROPIC_API_KEY: "k" }).llm,
    {
      kind: "anthropic",
      apiKey: "k",
      baseUrl: "https://api.anthropic.com",
      timeoutMs: 60_000,
    },
  );
  let error: unknown;
  try {
    parseProvidersConfig({ KEEL_LLM_PROVIDER: "anthropic" });
  } catch (e) {
    error = e;
  }
  assert(error instanceof Error && /ANTHROPIC_API_KEY.*required/.test(error.message));
  try {
    parseProvidersConfig({
      KEEL_LLM_PROVIDER: "anthropic",
      ANTHROPIC_API_KEY: API_KEY,
      KEEL_LLM_TIMEOUT_MS: "soon",
    });
    throw new Error("expected a ConfigError");
  } catch (e) {
    const text = (e as Error).message;
    assert(/KEEL_LLM_TIMEOUT_MS="soon"/.test(text), text);
    assert(!text.includes(API_KEY), `the config error leaks the key: ${text}`);
  }
  let bad: unknown;
  try {
    parseProvidersConfig({ KEEL_LLM_PROVIDER: "openai" });
  } catch (e) {
    bad = e;
  }
  assert(bad instanceof Error && /KEEL_LLM_PROVIDER="openai"/.test(bad.message));
});

/** A finished span as the recorder saw it. */
interface RecordedSpan {
  name: string;
  attributes: Record<string, unknown>;
  status: { code: number; message?: string };
  ended: boolean;
}

/** Installs an in-memory tracer provider that records spans' names, attributes and status. */
function recordSpans(): { spans: RecordedSpan[]; stop(): void } {
  const spans: RecordedSpan[] = [];
  function startSpan(name: string, options: SpanOptions = {}): Span {
    const record: RecordedSpan = {
      name,
      attributes: { ...options.attributes },
      status: { code: SpanStatusCode.UNSET },
      ended: false,
    };
    spans.push(record);
    const span: Span = {
      spanContext: () => INVALID_SPAN_CONTEXT,
      setAttribute(key, value) {
        record.attributes[key] = value;
        return span;
      },
      setAttributes(attributes) {
        Object.assign(record.attributes, attributes);
        return span;
      },
      addEvent: () => span,
      addLink: () => span,
      addLinks: () => span,
      setStatus(status) {
        record.status = status;
        return span;
      },
      updateName(updated) {
        record.name = updated;
        return span;
      },
      end() {
        record.ended = true;
      },
      isRecording: () => true,
      recordException() {},
    };
    return span;
  }
  const tracer = {
    startSpan,
    startActiveSpan(name: string, ...rest: unknown[]) {
      const fn = rest.at(-1) as (span: Span) => unknown;
      const options = rest.length > 1 ? rest[0] as SpanOptions : {};
      return fn(startSpan(name, options));
    },
  } as Tracer;
  trace.setGlobalTracerProvider({ getTracer: () => tracer });
  return { spans, stop: () => trace.disable() };
}

Deno.test("anthropic: spans carry gen_ai attributes and token counts, never bodies or keys", async () => {
  const recorder = recordSpans();
  try {
    await withProvider(async (provider, server) => {
      await provider.complete(REQUEST);
      server.reply(apiError(429, "rate_limit_error"));
      await failure(provider.complete(REQUEST));
    });
  } finally {
    recorder.stop();
  }
  const [ok, failed] = recorder.spans;
  assertEquals(recorder.spans.length, 2);
  assertEquals(ok?.name, "chat claude-sonnet-4-5");
  assertEquals(ok?.attributes, {
    "gen_ai.operation.name": "chat",
    "gen_ai.system": "anthropic",
    "gen_ai.request.model": "claude-sonnet-4-5",
    "gen_ai.request.max_tokens": 64,
    "gen_ai.response.model": "claude-sonnet-4-5-20250929",
    "gen_ai.usage.input_tokens": 12,
    "gen_ai.usage.output_tokens": 40,
    "gen_ai.response.finish_reasons": ["end_turn"],
  });
  assertEquals(failed?.attributes["error.type"], "rate_limited");
  assertEquals(failed?.status.code, SpanStatusCode.ERROR);
  assert(recorder.spans.every((s) => s.ended), "every span is ended");
  const everything = JSON.stringify(recorder.spans);
  for (const secret of [API_KEY, "Say hello", "You are terse.", "Hello"]) {
    assert(!everything.includes(secret), `a span holds "${secret}"`);
  }
});
