import { assertEquals, assertRejects } from "@std/assert";
import { context, SpanStatusCode, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { withSpan } from "./mod.ts";

Deno.test("withSpan nests spans, keeps attributes and marks a throw as an error", async () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  try {
    const result = await withSpan(
      "outer",
      { "keel.directive.id": "d1" },
      () => withSpan("inner", {}, () => Promise.resolve(42)),
    );
    assertEquals(result, 42);
    await assertRejects(
      () => withSpan("broken", {}, () => Promise.reject(new TypeError("boom"))),
      TypeError,
      "boom",
    );
    const spans = exporter.getFinishedSpans();
    const byName = new Map(spans.map((span) => [span.name, span]));
    const outer = byName.get("outer");
    const inner = byName.get("inner");
    assertEquals(outer?.attributes["keel.directive.id"], "d1");
    assertEquals(inner?.parentSpanContext?.spanId, outer?.spanContext().spanId);
    assertEquals(byName.get("broken")?.status.code, SpanStatusCode.ERROR);
    assertEquals(outer?.status.code, SpanStatusCode.UNSET);
  } finally {
    await provider.shutdown();
    trace.disable();
    context.disable();
  }
});
