import {
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { defaultPayloadConverter, type Headers } from "@temporalio/common";
import type { WorkflowClientInterceptor, WorkflowStartInput } from "@temporalio/client";
import type { ActivityInboundCallsInterceptor, InjectedSinks } from "@temporalio/worker";
import { TRACE_HEADER, type TracingSinks } from "../workflows/tracing/api.ts";
import { chooseNextSpanId } from "./otel.ts";

// Looked up on each use: a tracer cached at import would outlive a restarted SDK.
function tracer() {
  return trace.getTracer("keel");
}

/** The workflow module that installs the tracing interceptors in every workflow. */
export const WORKFLOW_TRACING_MODULE =
  new URL("../workflows/tracing/interceptors.ts", import.meta.url).pathname;

function traceparentOf(headers: Headers): string | undefined {
  const payload = headers[TRACE_HEADER];
  if (payload === undefined) return undefined;
  const value = defaultPayloadConverter.fromPayload<unknown>(payload);
  return typeof value === "string" ? value : undefined;
}

function contextOf(traceparent: string | undefined) {
  return traceparent === undefined
    ? ROOT_CONTEXT
    : propagation.extract(ROOT_CONTEXT, { traceparent });
}

function injected(headers: Headers): Headers {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent === undefined
    ? headers
    : { ...headers, [TRACE_HEADER]: defaultPayloadConverter.toPayload(carrier.traceparent) };
}

function finish(span: Span, error?: unknown): void {
  if (error !== undefined) {
    span.setAttribute("error.type", (error as Error).name ?? "Error");
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).name });
  }
  span.end();
}

async function spanned<T>(span: Span, fn: () => Promise<T>): Promise<T> {
  try {
    const result = await context.with(trace.setSpan(context.active(), span), fn);
    finish(span);
    return result;
  } catch (error) {
    finish(span, error);
    throw error;
  }
}

function startSpan(input: WorkflowStartInput): Span {
  return tracer().startSpan(`StartWorkflow:${input.workflowType}`, {
    kind: SpanKind.CLIENT,
    attributes: { "temporal.workflow.id": input.options.workflowId },
  });
}

/** Client interceptor: a span around each workflow start, whose context rides in a header. */
export function tracingClientInterceptor(): WorkflowClientInterceptor {
  return {
    start(input, next) {
      const span = startSpan(input);
      return spanned(span, () => next({ ...input, headers: injected(input.headers) }));
    },
    startWithDetails(input, next) {
      const span = startSpan(input);
      return spanned(span, () => next({ ...input, headers: injected(input.headers) }));
    },
  };
}

/** Activity interceptor: each activity runs in a span that is a child of its workflow's. */
export function tracingActivityInterceptor(
  info: { activityType: string; workflowExecution?: { workflowId: string } },
): ActivityInboundCallsInterceptor {
  return {
    execute(input, next) {
      const parent = contextOf(traceparentOf(input.headers));
      const span = tracer().startSpan(`RunActivity:${info.activityType}`, {
        kind: SpanKind.INTERNAL,
        attributes: {
          "temporal.activity.type": info.activityType,
          "temporal.workflow.id": info.workflowExecution?.workflowId ?? "",
        },
      }, parent);
      return context.with(trace.setSpan(parent, span), () => spanned(span, () => next(input)));
    },
  };
}

/** The worker side of the workflow sink: records each finished workflow span. */
export function tracingSinks(): InjectedSinks<TracingSinks> {
  return {
    keelTracing: {
      workflowSpan: {
        fn(info, record) {
          chooseNextSpanId(record.spanId);
          const span = tracer().startSpan(record.name, {
            kind: SpanKind.INTERNAL,
            startTime: record.startMs,
            attributes: {
              "temporal.workflow.id": info.workflowId,
              "temporal.run.id": info.runId,
              "temporal.workflow.type": info.workflowType,
            },
          }, contextOf(record.parent));
          if (record.error !== undefined) {
            span.setAttribute("error.type", record.error);
            span.setStatus({ code: SpanStatusCode.ERROR, message: record.error });
          }
          span.end(record.endMs);
        },
        callDuringReplay: false,
      },
    },
  };
}
