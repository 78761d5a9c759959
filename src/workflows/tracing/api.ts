/**
 * What the workflow tracing interceptors share with the worker and clients:
 * the header that carries W3C trace context across Temporal, and the sink the
 * workflow reports its span through. Types and constants only.
 *
 * @module
 */
import type { Sinks } from "@temporalio/workflow";

/** The Temporal header holding a W3C `traceparent` string. */
export const TRACE_HEADER = "keel-traceparent";

/** A workflow's span, measured in workflow time and recorded by the worker. */
export interface WorkflowSpanRecord {
  /** The caller's context: the span is its child. */
  readonly parent: string;
  /** The span's id, chosen in the workflow so its children can name it. */
  readonly spanId: string;
  /** `RunWorkflow:<type>`. */
  readonly name: string;
  /** Epoch milliseconds. */
  readonly startMs: number;
  /** Epoch milliseconds. */
  readonly endMs: number;
  /** The error's type, when the workflow failed. */
  readonly error?: string;
}

/** The sink the workflow interceptors call. */
export interface TracingSinks extends Sinks {
  /** Records workflow spans in the worker, outside the sandbox. */
  keelTracing: {
    /** Records one finished workflow span. */
    workflowSpan(record: WorkflowSpanRecord): void;
  };
}
