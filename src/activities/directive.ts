import { CancelledFailure, Context } from "@temporalio/activity";
import { inOneTransaction, type Sql, untilReachable } from "../db/mod.ts";
import { finishDirective, getDirective, transitionDirective } from "../directives/mod.ts";
import { nonRetryable } from "./_failures.ts";
import {
  grantedPermissions,
  type PolicyConfig,
  type PolicyStep,
  runPolicyStep,
} from "../policy/mod.ts";
import {
  createRun,
  createSandbox,
  endRunFromLoop,
  executeRun,
  getRun,
  type ModuleRegistry,
  type RunFacts,
  RunNotFoundError,
  type Sandbox,
  settleLostRun,
} from "../execution/mod.ts";
import type { ExecutionResult } from "../workflows/directive/api.ts";
import type { Evaluator } from "../evaluation/mod.ts";
import { evaluationInput, recordScore, scoreRun } from "./_evaluate.ts";
import type { Logger } from "../telemetry/log.ts";
import { trace } from "@opentelemetry/api";
import {
  countDirective,
  recordModuleExecution,
  recordPolicyEvaluation as countPolicyEvaluation,
} from "../telemetry/metrics.ts";
import type { ArtifactStorage } from "../artifacts/mod.ts";

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
  /** Execution attempts per directive: the worker's setting, not the client's. */
  readonly maxAttempts: number;
  /** Where modules run; a prewarming sandbox of the activities' own when absent. */
  readonly sandbox?: Sandbox;
}

/** Sets Keel attributes on the activity's span (a no-op when tracing is off). */
function annotate(attributes: Record<string, string | number | boolean>): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}

export { EvaluationTimeoutError } from "./_evaluate.ts";
export type { PolicyStep } from "../policy/mod.ts";

/** Builds the activities of the directive loop over injected dependencies. */
export function createDirectiveActivities(deps: DirectiveActivityDeps) {
  const { sql, policy, registry, evaluator, log } = deps;
  const policyActor = `policy:${policy.name}@${policy.version}`;
  let sandbox = deps.sandbox;
  const execution = {
    sql,
    registry,
    // Made when a run first needs it: steps built over a transaction never do.
    get sandbox(): Sandbox {
      return sandbox ??= createSandbox();
    },
    artifacts: deps.artifacts,
    maxAttempts: deps.maxAttempts,
  };

  async function runFacts(runId: string): Promise<RunFacts> {
    return await inOneTransaction(sql, async (tx) => {
      const run = await getRun(tx, runId);
      if (!run) throw new RunNotFoundError(runId);
      const directive = await getDirective(tx, run.directive_id);
      return { run, directive, granted: await grantedPermissions(tx, directive.id) };
    });
  }

  return {
    /**
     * Evaluates the policy once per directive (a stored verdict is reused),
     * grants the runs their permissions, records the verdict and, on BLOCK,
     * moves the directive to `blocked`. Returns the state the loop resumes from.
     */
    async evaluateDirectivePolicy(directiveId: string): Promise<PolicyStep> {
      annotate({ "keel.directive.id": directiveId });
      try {
        const { step, fresh } = await runPolicyStep(sql, directiveId, {
          policy,
          moduleOf: (type: string) => registry.find(type),
        });
        annotate({
          "keel.policy.verdict": step.verdict,
          "keel.policy.version": policyActor,
          "keel.directive.status": step.status,
        });
        if (fresh) {
          log.info("policy evaluated", {
            directive_id: directiveId,
            verdict: fresh.decision.verdict,
            rule: fresh.decision.rule,
          });
          countPolicyEvaluation(fresh.decision.verdict, fresh.seconds);
          if (step.status === "blocked") countDirective("blocked");
        }
        return step;
      } catch (error) {
        return nonRetryable(error);
      }
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
        const directive = await getDirective(sql, directiveId);
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
        const directive = await getDirective(sql, request.directiveId);
        const { run } = await createRun(sql, { directive, attempt: request.attempt });
        return run.id;
      } catch (error) {
        return nonRetryable(error);
      }
    },

    /**
     * Runs the module of a run once, in its sandbox, and records its ending.
     * Never retried by Temporal (the workflow proxies it with one attempt):
     * a run found started is recorded `lost`, not run again. Liveness is the
     * module's: the activity heartbeats only when the module's process answers.
     */
    async executeRun(runId: string): Promise<ExecutionResult> {
      const context = Context.current();
      try {
        const facts = await untilReachable(() => runFacts(runId), {
          onWait: () => context.heartbeat(),
        });
        annotate({
          "keel.directive.id": facts.run.directive_id,
          "keel.run.id": runId,
          "keel.module": facts.run.module,
          "keel.run.attempt": facts.run.attempt,
        });
        // An abort of the directive reaches the activity as a cancellation
        // the workflow requested; any other (the activity timed out on the
        // server, the worker is shutting down) abandons the run instead.
        const abort = new AbortController();
        const abandon = new AbortController();
        context.cancellationSignal.addEventListener("abort", () => {
          const details = context.cancellationDetails;
          if (details?.cancelRequested) abort.abort(context.cancellationSignal.reason);
          else abandon.abort(String((context.cancellationSignal.reason as Error)?.message ?? ""));
        }, { once: true });
        const summary = await executeRun(execution, facts, {
          signal: abort.signal,
          abandon: abandon.signal,
          alive: (details) => context.heartbeat(details),
          unreachable: (step, error) =>
            log.warn("Postgres is unreachable: the run waits for it", {
              directive_id: facts.run.directive_id,
              run_id: runId,
              module: facts.run.module,
              step,
              error,
            }),
        });
        annotate({
          "keel.run.status": summary.status,
          "keel.run.outcome": summary.outcome ?? "none",
        });
        recordModuleExecution(facts.run.module, summary.status, (summary.durationMs ?? 0) / 1000);
        log.info("run ended", {
          directive_id: facts.run.directive_id,
          run_id: runId,
          module: facts.run.module,
          status: summary.status,
          outcome: summary.outcome,
        });
        if (abort.signal.aborted) throw new CancelledFailure("execution canceled", undefined);
        return summary;
      } catch (error) {
        return nonRetryable(error);
      }
    },

    /**
     * Records the ending of a run the module could not report: `lost` (the
     * activity failed with its worker; a run still pending is returned as
     * such, for the loop to run it), or `failed`/`canceled` from the loop.
     */
    async endRun(request: {
      runId: string;
      status: "failed" | "canceled" | "lost";
      message: string;
    }): Promise<ExecutionResult> {
      try {
        const facts = await runFacts(request.runId);
        if (request.status === "lost") {
          return await settleLostRun(execution, facts, request.message);
        }
        return await endRunFromLoop(execution, facts, {
          status: request.status,
          message: request.message,
        });
      } catch (error) {
        return nonRetryable(error);
      }
    },

    /** Scores a finished run and stores the score; never changes the directive. */
    async evaluateRun(
      request: { directiveId: string; runId: string },
    ): Promise<number | null> {
      annotate({ "keel.directive.id": request.directiveId, "keel.run.id": request.runId });
      const input = await evaluationInput(sql, request);
      const score = await scoreRun(deps, input);
      return score === null ? null : await recordScore(sql, evaluator, input, score);
    },
  };
}

/** The directive loop's activities, for `proxyActivities`. */
export type DirectiveActivities = ReturnType<typeof createDirectiveActivities>;
