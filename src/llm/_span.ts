/**
 * GenAI spans around provider calls: system, model and token counts only,
 * never message bodies or credentials.
 *
 * @module
 */
import { type Attributes, SpanStatusCode, trace } from "@opentelemetry/api";
import { ProviderError } from "./errors.ts";

/** What a span starts with. */
export interface SpanStart {
  /** `gen_ai.operation.name`: `chat` or `embeddings`. */
  readonly operation: string;
  /** `gen_ai.system`, e.g. `anthropic`. */
  readonly system: string;
  /** `gen_ai.request.model`. */
  readonly model: string;
  /** More request attributes, e.g. `gen_ai.request.max_tokens`. */
  readonly attributes?: Attributes;
}

/**
 * Runs `call` inside a client span named `<operation> <model>`; `finish`
 * turns its result into response attributes (token counts, response model).
 */
export async function withGenAiSpan<T>(
  start: SpanStart,
  call: () => Promise<T>,
  finish: (result: T) => Attributes,
): Promise<T> {
  const tracer = trace.getTracer("keel");
  return await tracer.startActiveSpan(`${start.operation} ${start.model}`, {
    attributes: {
      "gen_ai.operation.name": start.operation,
      "gen_ai.system": start.system,
      "gen_ai.request.model": start.model,
      ...start.attributes,
    },
  }, async (span) => {
    try {
      const result = await call();
      span.setAttributes(finish(result));
      return result;
    } catch (error) {
      const type = error instanceof ProviderError ? error.kind : "_OTHER";
      span.setAttribute("error.type", type);
      span.setStatus({ code: SpanStatusCode.ERROR, message: type });
      throw error;
    } finally {
      span.end();
    }
  });
}
