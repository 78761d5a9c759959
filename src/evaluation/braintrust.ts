import { SpanKind, trace } from "@opentelemetry/api";
import type { EvaluationInput, EvaluationScore, Evaluator } from "./evaluator.ts";

/** Thrown when Braintrust refuses or cannot be reached; the message never holds the key. */
export class BraintrustError extends Error {
  /** The HTTP status, or 0 when there was no answer. */
  readonly status: number;
  /** Creates the error. */
  constructor(message: string, status: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "BraintrustError";
    this.status = status;
  }
}

/** Options for {@linkcode createBraintrustEvaluator}. */
export interface BraintrustOptions {
  /** API key, sent as a bearer token only. */
  readonly apiKey: string;
  /** e.g. `https://api.braintrust.dev`. */
  readonly apiUrl: string;
  /** The project that receives the scores (created when missing). */
  readonly project: string;
  /** Scores the run; Braintrust receives what it returns. */
  readonly scorer: Evaluator;
  /** Milliseconds per request. */
  readonly timeoutMs?: number;
  /** The fetch to use (the global one by default). */
  readonly fetch?: typeof fetch;
}

/**
 * An evaluator that scores with `scorer` and logs each score to Braintrust's
 * project logs (`POST /v1/project`, then `POST /v1/project_logs/{id}/insert`).
 * The event carries ids, statuses and scores: never the directive's payload
 * or the module's output body. Its id is the run id, so a retried activity
 * overwrites the same row instead of adding one.
 */
export function createBraintrustEvaluator(options: BraintrustOptions): Evaluator {
  const base = options.apiUrl.replace(/\/+$/, "");
  const send = options.fetch ?? fetch;
  let projectId: string | undefined;

  async function call(path: string, body: unknown): Promise<Record<string, unknown>> {
    return await trace.getTracer("keel").startActiveSpan(
      `POST ${path.replace(/[0-9a-f-]{36}/, "{id}")}`,
      {
        kind: SpanKind.CLIENT,
        attributes: { "server.address": new URL(base).hostname, "http.request.method": "POST" },
      },
      async (span) => {
        try {
          let response: Response;
          try {
            response = await send(`${base}${path}`, {
              method: "POST",
              headers: {
                authorization: `Bearer ${options.apiKey}`,
                "content-type": "application/json",
              },
              body: JSON.stringify(body),
              signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
            });
          } catch (cause) {
            throw new BraintrustError(
              `Cannot reach Braintrust at ${base}${path}: ${(cause as Error).name}`,
              0,
              { cause },
            );
          }
          span.setAttribute("http.response.status_code", response.status);
          const text = await response.text();
          if (!response.ok) {
            throw new BraintrustError(
              `Braintrust refused POST ${path}: HTTP ${response.status} ${text.slice(0, 200)}`,
              response.status,
            );
          }
          try {
            return JSON.parse(text) as Record<string, unknown>;
          } catch (cause) {
            throw new BraintrustError(`Braintrust answered POST ${path} with malformed JSON`, 200, {
              cause,
            });
          }
        } finally {
          span.end();
        }
      },
    );
  }

  async function project(): Promise<string> {
    if (projectId !== undefined) return projectId;
    const answer = await call("/v1/project", { name: options.project });
    if (typeof answer.id !== "string") {
      throw new BraintrustError(`Braintrust's project answer has no "id"`, 200);
    }
    projectId = answer.id;
    return projectId;
  }

  return {
    name: `braintrust:${options.scorer.name}`,
    async evaluate(input: EvaluationInput): Promise<EvaluationScore> {
      const score = await options.scorer.evaluate(input);
      const id = await project();
      const answer = await call(`/v1/project_logs/${id}/insert`, {
        events: [{
          id: input.run.id,
          input: { directive_id: input.directive.id, type: input.directive.type },
          output: { run_status: input.run.status, outcome: input.run.outcome },
          scores: { keel: score.score, ...score.dimensions },
          metadata: { scorer: options.scorer.name, attempt: input.run.attempt },
        }],
      });
      const rowIds = answer.row_ids;
      if (!Array.isArray(rowIds) || rowIds.length !== 1) {
        throw new BraintrustError(`Braintrust's insert answer has no "row_ids"`, 200);
      }
      return { ...score, metadata: { ...score.metadata, braintrust_row_id: rowIds[0] } };
    },
  };
}
