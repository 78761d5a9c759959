/**
 * The `callLlm` activity: validate, reserve budget, call the provider, charge,
 * and record `llm_call` and `llm_usage` artifacts (metadata only) on every
 * path, errors included.
 *
 * @module
 */
import { ApplicationFailure, Context } from "@temporalio/activity";
import { createHash } from "node:crypto";
import { z } from "zod";
import type { Sql } from "../db/mod.ts";
import {
  BudgetExceededError,
  BudgetLedgerError,
  charge,
  type LlmProvider,
  LlmRequest,
  type LlmResponse,
  PRICE_CURRENCY,
  priceOf,
  ProviderError,
  release,
  reserve,
  worstCaseCost,
} from "../llm/mod.ts";
import type { Logger } from "../telemetry/log.ts";

/** What `callLlm` takes: a provider request on behalf of a directive. */
export const CallLlmInput = LlmRequest.extend({ directiveId: z.uuid() });
/** What `callLlm` takes. */
export type CallLlmInput = z.infer<typeof CallLlmInput>;

/** What `callLlm` returns. */
export interface CallLlmResult extends LlmResponse {
  /** What the ledger charged for this activity, once. */
  readonly charged: { readonly amount: string; readonly currency: string };
  /** True when an earlier attempt was charged and its answer is returned again. */
  readonly replayed: boolean;
}

/** Dependencies of the LLM activities. */
export interface LlmActivityDeps {
  /** The application's database client. */
  readonly sql: Sql;
  /** The configured provider (NoOp unless the operator opted in). */
  readonly llm: LlmProvider;
  /** The structured logger. */
  readonly log: Logger;
  /**
   * Fault injection for tests: runs after the charge and the artifacts, just
   * before the activity returns; a throw fails the attempt as a crash would.
   */
  readonly beforeReturn?: (attempt: number) => void | Promise<void>;
}

const ARTIFACT_CONTENT_TYPE = "application/json";

/** Inserts one small JSON artifact inline; identical content is stored once. */
async function insertJsonArtifact(
  sql: Sql,
  directiveId: string,
  artifact: { kind: string; content: Record<string, unknown> },
): Promise<void> {
  const body = new TextEncoder().encode(JSON.stringify(artifact.content));
  const sha256 = createHash("sha256").update(body).digest("hex");
  await sql`
    INSERT INTO artifacts (directive_id, run_id, kind, sha256, size_bytes, content_type,
      inline_content)
    VALUES (${directiveId}, NULL, ${artifact.kind}, ${sha256}, ${body.byteLength},
      ${ARTIFACT_CONTENT_TYPE}, ${body})
    ON CONFLICT DO NOTHING`;
}

/** The facts both artifacts record about one attempt. No bodies, no keys. */
interface CallRecord {
  readonly directiveId: string;
  readonly key: string;
  readonly attempt: number;
  readonly provider: string;
  readonly model: string;
  readonly outcome: "ok" | "replayed" | "refused" | "error";
  readonly latencyMs: number;
  readonly error: { kind: string; retryable: boolean; status?: number } | null;
  readonly response: LlmResponse | null;
  readonly charged: string;
}

async function recordCall(sql: Sql, record: CallRecord): Promise<void> {
  const common = {
    provider: record.provider,
    model: record.model,
    idempotency_key: record.key,
    attempt: record.attempt,
  };
  const usage = record.response?.usage;
  await sql.begin(async (tx) => {
    await insertJsonArtifact(tx as unknown as Sql, record.directiveId, {
      kind: "llm_call",
      content: {
        schema: "keel.llm_call/1",
        ...common,
        outcome: record.outcome,
        latency_ms: record.latencyMs,
        response_model: record.response?.model ?? null,
        stop_reason: record.response?.stopReason ?? null,
        error: record.error,
      },
    });
    await insertJsonArtifact(tx as unknown as Sql, record.directiveId, {
      kind: "llm_usage",
      content: {
        schema: "keel.llm_usage/1",
        ...common,
        outcome: record.outcome,
        input_tokens: usage?.inputTokens ?? 0,
        output_tokens: usage?.outputTokens ?? 0,
        total_tokens: usage?.totalTokens ?? 0,
        estimated_cost: usage?.estimatedCost ?? null,
        charged: { amount: record.charged, currency: PRICE_CURRENCY },
      },
    });
  });
}

function invalid(error: z.ZodError): ApplicationFailure {
  const fields = error.issues.map((issue) =>
    `${issue.path.join(".") || "(input)"}: ${issue.message}`
  );
  return ApplicationFailure.nonRetryable(
    `Cannot call a model: the request is invalid (${fields.join("; ")})`,
    "InvalidLlmRequest",
  );
}

function idempotencyKey(info: Context["info"]): string {
  if (!info.workflowExecution) {
    throw ApplicationFailure.nonRetryable(
      `Cannot call a model from activity "${info.activityId}": it has no workflow, so no ` +
        `idempotency key to charge the budget against`,
      "MissingIdempotencyKey",
    );
  }
  const { workflowId, runId } = info.workflowExecution;
  return `${workflowId}/${runId}/${info.activityId}`;
}

function failureOf(error: ProviderError): ApplicationFailure {
  return ApplicationFailure.create({
    message: error.message,
    type: `ProviderError.${error.kind}`,
    nonRetryable: !error.retryable,
    details: [{ kind: error.kind, retryable: error.retryable, status: error.status ?? null }],
    ...(error.retryAfterMs === undefined ? {} : { nextRetryDelay: error.retryAfterMs }),
  });
}

/** Builds the LLM activities over injected dependencies. */
export function createLlmActivities(deps: LlmActivityDeps) {
  return {
    /**
     * Calls the configured model once per activity, however often it is
     * retried: the budget ledger charges the first successful attempt and
     * later attempts get its answer back.
     */
    async callLlm(input: unknown): Promise<CallLlmResult> {
      const parsed = CallLlmInput.safeParse(input);
      if (!parsed.success) throw invalid(parsed.error);
      const { directiveId, ...request } = parsed.data;
      const info = Context.current().info;
      const key = idempotencyKey(info);
      const base = {
        directiveId,
        key,
        attempt: info.attempt,
        provider: deps.llm.name,
        model: request.model,
      };
      const price = priceOf(request.model);
      if (price === undefined) {
        throw ApplicationFailure.nonRetryable(
          `Cannot call model "${request.model}": it has no price in src/llm/pricing.ts, so its ` +
            `cost cannot be checked against the budget`,
          "UnpricedModel",
        );
      }
      const estimate = worstCaseCost(price, request);
      let reserved;
      try {
        reserved = await reserve(deps.sql, {
          directiveId,
          key,
          provider: deps.llm.name,
          model: request.model,
          estimate,
          currency: PRICE_CURRENCY,
        });
      } catch (error) {
        if (error instanceof BudgetExceededError) {
          await recordCall(deps.sql, {
            ...base,
            outcome: "refused",
            latencyMs: 0,
            error: { kind: "budget_exceeded", retryable: false },
            response: null,
            charged: "0.0000",
          });
          throw ApplicationFailure.nonRetryable(error.message, error.name);
        }
        if (error instanceof BudgetLedgerError) {
          throw ApplicationFailure.nonRetryable(error.message, error.name);
        }
        throw error;
      }
      if (reserved.state === "charged") {
        const earlier = reserved.response as LlmResponse | null;
        if (earlier === null) {
          throw ApplicationFailure.nonRetryable(
            `Cannot call a model again under key "${key}": an earlier attempt was charged ` +
              `${reserved.amount} ${PRICE_CURRENCY} and left no answer`,
            "ChargedWithoutAnswer",
          );
        }
        await recordCall(deps.sql, {
          ...base,
          outcome: "replayed",
          latencyMs: 0,
          error: null,
          response: earlier,
          charged: "0.0000",
        });
        await deps.beforeReturn?.(info.attempt);
        return {
          ...earlier,
          charged: { amount: reserved.amount, currency: PRICE_CURRENCY },
          replayed: true,
        };
      }
      const started = performance.now();
      let response: LlmResponse;
      try {
        response = await deps.llm.complete(request, {
          signal: Context.current().cancellationSignal,
        });
      } catch (error) {
        const latencyMs = Math.round(performance.now() - started);
        if (!(error instanceof ProviderError)) {
          await release(deps.sql, key);
          throw error;
        }
        // A malformed 2xx may have been billed: charge the worst case rather than nothing.
        const billed = error.kind === "malformed_response";
        if (billed) {
          await charge(deps.sql, key, {
            amount: estimate,
            inputTokens: null,
            outputTokens: null,
            response: null,
          });
        } else {
          await release(deps.sql, key);
        }
        await recordCall(deps.sql, {
          ...base,
          outcome: "error",
          latencyMs,
          error: {
            kind: error.kind,
            retryable: error.retryable,
            ...(error.status === undefined ? {} : { status: error.status }),
          },
          response: null,
          charged: billed ? estimate : "0.0000",
        });
        deps.log.warn("model call failed", {
          provider: deps.llm.name,
          model: request.model,
          kind: error.kind,
          retryable: error.retryable,
          attempt: info.attempt,
        });
        throw failureOf(error);
      }
      const latencyMs = Math.round(performance.now() - started);
      // An unpriced response model still costs: charge at the requested model's price.
      const amount = response.usage.estimatedCost?.amount ?? estimate;
      await charge(deps.sql, key, {
        amount,
        inputTokens: response.usage.inputTokens,
        outputTokens: response.usage.outputTokens,
        response,
      });
      await recordCall(deps.sql, {
        ...base,
        outcome: "ok",
        latencyMs,
        error: null,
        response,
        charged: amount,
      });
      await deps.beforeReturn?.(info.attempt);
      return { ...response, charged: { amount, currency: PRICE_CURRENCY }, replayed: false };
    },
  };
}

/** The LLM activity interface, for `proxyActivities`. */
export type LlmActivities = ReturnType<typeof createLlmActivities>;
