/**
 * Telemetry's public face: start and stop the OpenTelemetry pipeline from a
 * parsed config (any process: worker, CLI, server), wrap work in a span, write
 * correlated JSON logs and record Keel's metrics. Telemetry is write-only:
 * nothing in Keel reads a span, metric or log line back.
 *
 * Other modules may also use `trace.getTracer("keel")` from
 * `@opentelemetry/api` directly; both reach the same global provider.
 *
 * @module
 */
import { type Attributes, type Span, SpanStatusCode, trace } from "@opentelemetry/api";

export { startTelemetry, type Telemetry } from "./otel.ts";
export { createLogger, type LogFields, type Logger, type LoggerOptions } from "./log.ts";
export * from "./metrics.ts";

/**
 * Runs `fn` inside a new active span named `name` with `attributes`, ends the
 * span when `fn` settles, and marks it as an error (recording the exception)
 * when `fn` throws. Without a started pipeline the span is a no-op.
 * Attributes must never carry secrets or payload bodies.
 */
export function withSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  return trace.getTracer("keel").startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      if (error instanceof Error) span.recordException(error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}
