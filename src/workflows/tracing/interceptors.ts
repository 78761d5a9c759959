/**
 * Workflow interceptors that carry trace context through a workflow: the
 * caller's `traceparent` header becomes the parent of a workflow span, whose
 * context is passed on to every activity and child workflow. The span id is
 * drawn from the workflow's seeded random source, so a replay makes the same
 * one; the span itself is recorded by the worker through a sink, once.
 *
 * @module
 */
import {
  defaultPayloadConverter,
  type Headers,
  proxySinks,
  uuid4,
  workflowInfo,
  type WorkflowInterceptorsFactory,
} from "@temporalio/workflow";
import { TRACE_HEADER, type TracingSinks } from "./api.ts";

const { keelTracing } = proxySinks<TracingSinks>();

let current: string | undefined;

function withContext(headers: Headers): Headers {
  if (current === undefined) return headers;
  return { ...headers, [TRACE_HEADER]: defaultPayloadConverter.toPayload(current) };
}

function parentOf(headers: Headers): string | undefined {
  const payload = headers[TRACE_HEADER];
  if (payload === undefined) return undefined;
  const value = defaultPayloadConverter.fromPayload<unknown>(payload);
  return typeof value === "string" && /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/.test(value)
    ? value
    : undefined;
}

/** The interceptors the worker installs in every workflow. */
export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [{
    async execute(input, next) {
      const parent = parentOf(input.headers);
      if (parent === undefined) return await next(input);
      const [, traceId, , flags] = parent.split("-");
      const spanId = uuid4().replaceAll("-", "").slice(0, 16);
      current = `00-${traceId}-${spanId}-${flags}`;
      const info = workflowInfo();
      const record = { parent, spanId, name: `RunWorkflow:${info.workflowType}` };
      try {
        const result = await next(input);
        keelTracing.workflowSpan({
          ...record,
          startMs: info.startTime.getTime(),
          endMs: Date.now(),
        });
        return result;
      } catch (error) {
        keelTracing.workflowSpan({
          ...record,
          startMs: info.startTime.getTime(),
          endMs: Date.now(),
          error: (error as Error).name ?? "Error",
        });
        throw error;
      }
    },
  }],
  outbound: [{
    scheduleActivity: (input, next) => next({ ...input, headers: withContext(input.headers) }),
    scheduleLocalActivity: (input, next) => next({ ...input, headers: withContext(input.headers) }),
    startChildWorkflowExecution: (input, next) =>
      next({ ...input, headers: withContext(input.headers) }),
  }],
});
