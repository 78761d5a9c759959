import { type IdGenerator, RandomIdGenerator } from "@opentelemetry/sdk-trace";

/**
 * Random ids, except when a span id is chosen up front: a workflow span's id
 * is fixed inside the workflow (deterministically, so replays agree) before
 * the worker records the span.
 */
export class ChosenIdGenerator implements IdGenerator {
  #random = new RandomIdGenerator();
  #next: string | undefined;

  /** Makes the next span id `spanId`. */
  choose(spanId: string): void {
    this.#next = spanId;
  }

  /** A random trace id. */
  generateTraceId(): string {
    return this.#random.generateTraceId();
  }

  /** The chosen span id, once, else a random one. */
  generateSpanId(): string {
    const chosen = this.#next;
    this.#next = undefined;
    return chosen ?? this.#random.generateSpanId();
  }
}
