import { ApplicationFailure, CancelledFailure, Context } from "@temporalio/activity";
import type { Sql } from "../db/mod.ts";
import {
  applyTransition,
  decideApproval,
  DecisionConflictError,
  DirectiveConflictError,
  DirectiveNotFoundError,
  finishDirective,
  IllegalTransitionError,
  intentOf,
  transitionDirective,
} from "../directives/mod.ts";
import { ApprovalRow, DirectiveRow, ExecutionRunRow, PolicyEvaluationRow } from "../models/mod.ts";
import { evaluatePolicy, type PolicyConfig, recordPolicyEvaluation } from "../policy/mod.ts";
import {
  createRun,
  dispatch,
  finishRun,
  getRun,
  markRunning,
  type ModuleRegistry,
  type RunEnding,
  UnknownModuleError,
  withinBudget,
} from "../execution/mod.ts";
import type { ExecutionResult } from "../workflows/directive/api.ts";
import { type EvaluatedArtifact, type Evaluator, recordEvaluation } from "../evaluation/mod.ts";
import type { Logger } from "../telemetry/log.ts";
import { trace } from "@opentelemetry/api";
import {
  countDirective,
  recordApprovalWait,
  recordModuleExecution,
  recordPolicyEvaluation as countPolicyEvaluation,
} from "../telemetry/metrics.ts";
import {
  type ArtifactStorage,
  ArtifactTooLargeError,
  prepareArtifact,
  type PreparedArtifact,
} from "../artifacts/mod.ts";

/** What the directive activities need. */
export interface DirectiveActivityDeps {
  /** The application's database client. */
  readonly sql: Sql;
  /** The policy in force, loaded once at start. */
  readonly policy: PolicyConfig;
  /** Execution modules by directive type. */
  readonly registry: ModuleRegistry;
  /** The evaluator of finished runs. */
  readonly evaluator: Evaluator;
  /** Where artifact bodies go, and the largest accepted. */
  readonly artifacts: ArtifactStorage;
  /** Milliseconds an evaluator may take before its score is abandoned (default 10 s). */
  readonly evaluationTimeoutMs?: number;
  /** The structured logger. */
  readonly log: Logger;
}

/** Sets Keel attributes on the activity's span (a no-op when tracing is off). */
function annotate(attributes: Record<string, string | number | boolean>): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}

/** Thrown when an evaluator takes longer than it may. */
export class EvaluationTimeoutError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "EvaluationTimeoutError";
  }
}

const CONNECTION_ERRORS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
  "08000",
  "08001",
  "08003",
  "08006",
]);

/** Whether an error means Postgres could not be reached, rather than refused the statement. */
export function isConnectionError(error: unknown): boolean {
  return CONNECTION_ERRORS.has(String((error as { code?: unknown }).code ?? ""));
}

/**
 * Runs `fn`, retrying every second while Postgres is unreachable (for up to
 * 10 minutes), heartbeating meanwhile; any other error is thrown at once.
 */
async function untilReachable<T>(
  fn: () => Promise<T>,
  options: { heartbeat: () => void; log: Logger },
): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!isConnectionError(error) || attempt >= 600) throw error;
      if (attempt === 1) options.log.warn("postgres unreachable; waiting to record", { error });
      options.heartbeat();
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new EvaluationTimeoutError(`${what} took longer than ${ms} ms; abandoned`)),
      ms,
    );
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/** What the loop learns from the policy step, and the state it resumes from. */
export interface PolicyStep {
  /** The directive's status after the step. */
  readonly status: string;
  /** ALLOW or BLOCK. */
  readonly verdict: "ALLOW" | "BLOCK";
  /** The verdict's reason. */
  readonly reason: string;
  /** Whether the policy approves without a human. */
  readonly autoApprove: boolean;
  /** How long to wait for a human. */
  readonly approvalTimeoutSeconds: number;
  /** `policy:<name>@<version>`, the actor of policy decisions. */
  readonly policyActor: string;
  /** The directive's timebox. */
  readonly timeboxSeconds: number;
  /** The highest attempt already recorded, 0 when none. */
  readonly lastAttempt: number;
  /** Whether that attempt's run has ended. */
  readonly lastAttemptEnded: boolean;
  /** The last run's outcome, if it ended with one. */
  readonly lastOutcome: "SUCCESS" | "FAILURE" | "ERROR" | null;
}

/** Business errors are not retried: they would fail the same way again. */
function nonRetryable(error: unknown): never {
  if (
    error instanceof DirectiveNotFoundError || error instanceof IllegalTransitionError ||
    error instanceof DecisionConflictError || error instanceof DirectiveConflictError ||
    error instanceof UnknownModuleError
  ) {
    throw ApplicationFailure.nonRetryable(error.message, error.name);
  }
  throw error;
}

function summary(run: ExecutionRunRow): ExecutionResult {
  if (run.status !== "completed" && run.status !== "failed" && run.status !== "canceled") {
    throw new Error(`Run "${run.id}" has not ended (status "${run.status}")`);
  }
  return { runId: run.id, status: run.status, outcome: run.outcome, message: run.message ?? "" };
}

async function loadDirective(sql: Sql, directiveId: string): Promise<DirectiveRow> {
  const [row] = await sql`SELECT * FROM directives WHERE id = ${directiveId}`;
  if (!row) throw new DirectiveNotFoundError(directiveId);
  return DirectiveRow.parse(row);
}

/** Builds the activities of the directive loop over injected dependencies. */
export function createDirectiveActivities(deps: DirectiveActivityDeps) {
  const { sql, policy, registry, evaluator, log } = deps;
  const policyActor = `policy:${policy.name}@${policy.version}`;

  return {
    /**
     * Evaluates the policy once per directive (a stored verdict is reused),
     * records it and, on BLOCK, moves the directive to `blocked`, all in one
     * transaction. Returns the state the loop resumes from.
     */
    async evaluateDirectivePolicy(directiveId: string): Promise<PolicyStep> {
      annotate({ "keel.directive.id": directiveId });
      let fresh: { verdict: string; seconds: number } | undefined;
      try {
        const step = await sql.begin(async (tx) => {
          const [locked] = await tx`SELECT * FROM directives WHERE id = ${directiveId} FOR UPDATE`;
          if (!locked) throw new DirectiveNotFoundError(directiveId);
          let directive = DirectiveRow.parse(locked);
          const [stored] = await tx`
            SELECT * FROM policy_evaluations WHERE directive_id = ${directiveId}
             ORDER BY evaluated_at LIMIT 1`;
          let verdict: PolicyEvaluationRow;
          if (stored) {
            verdict = PolicyEvaluationRow.parse(stored);
          } else {
            const started = performance.now();
            const decision = evaluatePolicy(intentOf(directive), policy);
            fresh = { verdict: decision.verdict, seconds: (performance.now() - started) / 1000 };
            verdict = await recordPolicyEvaluation(tx, decision, { directiveId });
            log.info("policy evaluated", {
              directive_id: directiveId,
              verdict: decision.verdict,
              rule: decision.rule,
            });
            if (decision.verdict === "BLOCK" && directive.status === "proposed") {
              const moved = await applyTransition(tx, {
                directiveId,
                to: "blocked",
                actor: policyActor,
                reason: decision.reason,
                expectedVersion: directive.version,
              });
              directive = moved.directive;
            }
          }
          const [last] = await tx`
            SELECT attempt, status, outcome FROM execution_runs WHERE directive_id = ${directiveId}
             ORDER BY attempt DESC LIMIT 1`;
          return {
            status: directive.status,
            verdict: verdict.verdict,
            reason: verdict.reason,
            autoApprove: verdict.auto_approve,
            approvalTimeoutSeconds: policy.approval_timeout_seconds,
            policyActor,
            timeboxSeconds: directive.timebox_seconds,
            lastAttempt: (last?.attempt as number | undefined) ?? 0,
            lastAttemptEnded: ["completed", "failed", "canceled"].includes(last?.status ?? ""),
            lastOutcome: (last?.outcome ?? null) as PolicyStep["lastOutcome"],
          };
        });
        annotate({
          "keel.policy.verdict": step.verdict,
          "keel.policy.version": policyActor,
          "keel.directive.status": step.status,
        });
        if (fresh) {
          countPolicyEvaluation(fresh.verdict, fresh.seconds);
          if (step.status === "blocked") countDirective("blocked");
        }
        return step as PolicyStep;
      } catch (error) {
        return nonRetryable(error);
      }
    },

    /** Records a human or policy decision (idempotent); returns the directive's status. */
    async recordDecision(request: {
      directiveId: string;
      decision: "approved" | "rejected";
      actor: string;
      reason: string;
    }): Promise<{ decision: "approved" | "rejected"; directiveStatus: string }> {
      annotate({ "keel.directive.id": request.directiveId, "keel.decision": request.decision });
      try {
        const result = await decideApproval(sql, request);
        if (result.recorded) {
          countDirective(result.directive.status);
          if (!request.actor.startsWith("policy:")) {
            const waited = (Date.now() - result.directive.created_at.getTime()) / 1000;
            recordApprovalWait(request.decision, Math.max(0, waited));
          }
        }
        return { decision: result.approval.decision, directiveStatus: result.directive.status };
      } catch (error) {
        return nonRetryable(error);
      }
    },

    /** The decision stored for a directive, if any. */
    async storedDecision(directiveId: string): Promise<ApprovalRow | null> {
      const [row] = await sql`SELECT * FROM approvals WHERE directive_id = ${directiveId}`;
      return row ? ApprovalRow.parse(row) : null;
    },

    /** Moves a directive to a terminal status unless it already is; returns the status. */
    async finishDirective(request: {
      directiveId: string;
      to: "complete" | "aborted";
      actor: string;
      reason: string;
    }): Promise<string> {
      annotate({ "keel.directive.id": request.directiveId });
      try {
        const { directive, changed } = await finishDirective(sql, request);
        if (changed) countDirective(directive.status);
        annotate({ "keel.directive.status": directive.status });
        return directive.status;
      } catch (error) {
        return nonRetryable(error);
      }
    },

    /** `approved → executing`; a directive already executing stays as it is. */
    async startExecution(directiveId: string): Promise<string> {
      try {
        const directive = await loadDirective(sql, directiveId);
        if (directive.status === "executing") return directive.status;
        const result = await transitionDirective(sql, {
          directiveId,
          to: "executing",
          actor: "keel",
          reason: "execution started",
          expectedStatus: "approved",
        });
        countDirective(result.directive.status);
        return result.directive.status;
      } catch (error) {
        return nonRetryable(error);
      }
    },

    /** Creates the run of an attempt, or returns the existing one. */
    async createRun(request: { directiveId: string; attempt: number }): Promise<string> {
      try {
        const directive = await loadDirective(sql, request.directiveId);
        const { run } = await createRun(sql, { directive, attempt: request.attempt });
        return run.id;
      } catch (error) {
        return nonRetryable(error);
      }
    },

    /**
     * Runs the module of a run and records its ending with its artifacts.
     * Heartbeats every second so cancellation reaches it. A run that has
     * already ended is returned as stored and not run again.
     */
    async executeRun(runId: string): Promise<ExecutionResult> {
      const context = Context.current();
      const run = await markRunning(sql, runId);
      annotate({
        "keel.directive.id": run.directive_id,
        "keel.run.id": runId,
        "keel.module": run.module,
        "keel.run.attempt": run.attempt,
      });
      if (run.status !== "running") return summary(run);
      const directive = await loadDirective(sql, run.directive_id);
      let module;
      try {
        module = registry.get(run.module);
      } catch (error) {
        return nonRetryable(error);
      }
      const beat = setInterval(() => context.heartbeat(), 1000);
      let ending: RunEnding;
      try {
        const result = await dispatch(module, {
          runId,
          directiveId: directive.id,
          directiveType: directive.type,
          payload: (directive.payload ?? {}) as Record<string, unknown>,
          idempotencyKey: run.idempotency_key,
          budget: { amount: directive.budget_amount, currency: directive.budget_currency },
          timeboxSeconds: directive.timebox_seconds,
          constraints: directive.constraints,
        }, {
          signal: context.cancellationSignal,
          heartbeat: (details) => context.heartbeat(details),
        });
        let prepared: PreparedArtifact[] = [];
        let refusal: string | undefined;
        try {
          prepared = await Promise.all(
            result.artifacts.map((draft) => prepareArtifact(draft, deps.artifacts)),
          );
        } catch (error) {
          if (!(error instanceof ArtifactTooLargeError)) throw error;
          refusal = error.message;
        }
        ending = refusal !== undefined
          ? {
            status: "failed",
            outcome: "ERROR",
            message: refusal,
            budgetConsumed: result.budgetConsumed,
            durationMs: result.durationMs,
          }
          : withinBudget(result, directive.budget_amount)
          ? {
            status: result.status === "SUCCESS" ? "completed" : "failed",
            outcome: result.status,
            result: result.result,
            message: result.message,
            budgetConsumed: result.budgetConsumed,
            durationMs: result.durationMs,
            artifacts: prepared,
          }
          : {
            status: "failed",
            outcome: "FAILURE",
            result: result.result,
            message:
              `budget exceeded: spent ${result.budgetConsumed} ${directive.budget_currency} of ${directive.budget_amount}`,
            budgetConsumed: result.budgetConsumed,
            durationMs: result.durationMs,
          };
      } catch (error) {
        if (context.cancellationSignal.aborted) {
          throw new CancelledFailure("execution canceled", undefined, error as Error);
        }
        throw error;
      } finally {
        clearInterval(beat);
      }
      // The module has acted: its ending must be recorded, not the module run
      // again, so a database outage here is waited out rather than failed.
      const { run: ended, changed } = await untilReachable(
        () => finishRun(sql, runId, ending),
        { heartbeat: () => context.heartbeat(), log },
      );
      annotate({ "keel.run.status": ended.status, "keel.run.outcome": ended.outcome ?? "none" });
      if (changed) {
        recordModuleExecution(run.module, ended.status, (ended.duration_ms ?? 0) / 1000);
      }
      log.info("run ended", {
        directive_id: directive.id,
        run_id: runId,
        module: run.module,
        status: ended.status,
        outcome: ended.outcome,
        duration_ms: ended.duration_ms,
      });
      return summary(ended);
    },

    /** Records the ending of a run the module could not finish (error, cancel, timebox). */
    async endRun(request: {
      runId: string;
      status: "failed" | "canceled";
      message: string;
    }): Promise<ExecutionResult> {
      const ending: RunEnding = request.status === "failed"
        ? { status: "failed", outcome: "ERROR", message: request.message }
        : { status: "canceled", message: request.message };
      const existing = await getRun(sql, request.runId);
      if (!existing) throw ApplicationFailure.nonRetryable(`No run "${request.runId}"`, "NotFound");
      const { run } = await finishRun(sql, request.runId, ending);
      return summary(run);
    },

    /** Scores a finished run and stores the score; never changes the directive. */
    async evaluateRun(
      request: { directiveId: string; runId: string },
    ): Promise<number | null> {
      annotate({ "keel.directive.id": request.directiveId, "keel.run.id": request.runId });
      const directive = await loadDirective(sql, request.directiveId);
      const run = await getRun(sql, request.runId);
      if (!run) throw ApplicationFailure.nonRetryable(`No run "${request.runId}"`, "NotFound");
      const outputs = await sql<EvaluatedArtifact[]>`
        SELECT kind, sha256, size_bytes::float8 AS "sizeBytes", content_type AS "contentType"
          FROM artifacts WHERE run_id = ${run.id} ORDER BY created_at, kind`;
      let score;
      try {
        score = await withTimeout(
          evaluator.evaluate({ directive, run, artifacts: [...outputs] }),
          deps.evaluationTimeoutMs ?? 10_000,
          `evaluator "${evaluator.name}"`,
        );
      } catch (error) {
        // Evaluation observes and never decides: a failing evaluator leaves no score.
        log.warn("evaluation abandoned", {
          directive_id: directive.id,
          run_id: run.id,
          evaluator: evaluator.name,
          error,
        });
        trace.getActiveSpan()?.addEvent("keel.evaluation.abandoned", {
          "keel.evaluator": evaluator.name,
          "error.type": (error as Error).name,
        });
        return null;
      }
      const row = await recordEvaluation(sql, score, {
        directiveId: directive.id,
        runId: run.id,
        evaluator: evaluator.name,
      });
      trace.getActiveSpan()?.addEvent("keel.evaluation", {
        "keel.evaluator": evaluator.name,
        "keel.evaluation.score": row.score,
      });
      annotate({ "keel.evaluation.score": row.score });
      return row.score;
    },
  };
}

/** The directive loop's activities, for `proxyActivities`. */
export type DirectiveActivities = ReturnType<typeof createDirectiveActivities>;
