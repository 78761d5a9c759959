/**
 * One execution attempt, start to end: start the module's process; once it
 * is ready, reserve the module's worst case and claim the run in one
 * transaction; give the module its input in its sandbox; record how it ended
 * together with the settlement of the reservation. At most one module execution starts
 * per run; a run found already started was lost with its worker and is
 * recorded so, never started again.
 *
 * @module
 */
import type { Sql } from "../db/mod.ts";
import { inOneTransaction, type ReachableOptions, untilReachable } from "../db/mod.ts";
import {
  DECIMAL_PATTERN,
  type DirectiveRow,
  ENDED_RUN_STATUSES,
  type ExecutionRunRow,
  intersectPermissions,
  type PermissionSet,
} from "../models/mod.ts";
import type { ArtifactStorage } from "../artifacts/mod.ts";
import { BudgetExceededError, BudgetLedgerError, reserve } from "../budget/mod.ts";
import type { ModuleRegistry } from "./registry.ts";
import type { ExecutionModule } from "./module.ts";
import { dispatch } from "./dispatch.ts";
import type { Sandbox } from "./sandbox/host.ts";
import { recordingOf } from "./settle.ts";
import { attemptCounts, claimRun, downstreamKey, finishRun, getRun } from "./runs.ts";
import { workingMemoryFor } from "../working_memory/mod.ts";

/** How an attempt ended, as the loop needs it. */
export interface RunSummary {
  /** The run. */
  readonly runId: string;
  /** The run's status; `pending` only from {@linkcode settleLostRun}: nothing had started. */
  readonly status: "completed" | "failed" | "canceled" | "lost" | "pending";
  /** The module's outcome; null when canceled, lost or pending. */
  readonly outcome: "SUCCESS" | "FAILURE" | "ERROR" | null;
  /** Summary. */
  readonly message: string;
  /** How long the module ran, when it ran. */
  readonly durationMs: number | null;
  /**
   * Whether another attempt may follow: the attempt ended in ERROR or was
   * lost, the module is retry-safe for this payload, and attempts remain.
   */
  readonly retryable: boolean;
}

/** What executing a run needs. */
export interface ExecuteDeps {
  /** The application's database client. */
  readonly sql: Sql;
  /** Execution modules by directive type. */
  readonly registry: ModuleRegistry;
  /** Where modules run. */
  readonly sandbox: Sandbox;
  /** Where artifact bodies go. */
  readonly artifacts: ArtifactStorage;
  /** Attempts per directive (the worker's setting). */
  readonly maxAttempts: number;
}

/**
 * Thrown when the host stopped a module because its activity is no longer
 * its own (timed out on the server, worker shutting down): nothing is
 * recorded, and the loop records the run as lost.
 */
export class RunAbandonedError extends Error {
  /** The run. */
  readonly runId: string;
  /** Creates the error. */
  constructor(runId: string, why: string, options?: ErrorOptions) {
    super(`Run "${runId}" was abandoned by its worker (${why}); its module was stopped`, options);
    this.name = "RunAbandonedError";
    this.runId = runId;
  }
}

/** What the activity host gives a run. */
export interface RunHooks {
  /** Aborted when the run is canceled (an abort of the directive): recorded `canceled`. */
  readonly signal: AbortSignal;
  /** Aborted when the activity is given up (not an abort): the module is stopped, nothing recorded. */
  readonly abandon?: AbortSignal;
  /** Called whenever the module shows it is alive. */
  alive(details?: unknown): void;
  /**
   * Called once per step that finds Postgres unreachable and waits for it
   * (the step, e.g. `record the ending`, and the first error), so the worker
   * can say why a run seems to stand still.
   */
  unreachable?(step: RunStep, error: unknown): void;
}

/** The steps of a run that wait out an unreachable Postgres. */
export type RunStep =
  | "record the refusal"
  | "claim the run"
  | "record the ending";

/** A run's facts: the run, its directive, the permissions its verdict granted. */
export interface RunFacts {
  /** The run, as stored. */
  readonly run: ExecutionRunRow;
  /** Its directive. */
  readonly directive: DirectiveRow;
  /** Recorded with the verdict; `null` for verdicts older than grants (the declaration applies). */
  readonly granted: PermissionSet | null;
}

/** How a refused run's message starts: nothing was started, and no attempt follows. */
export const REFUSED = "refused, nothing started:";

const ENDED: ReadonlySet<string> = new Set(ENDED_RUN_STATUSES);

function payloadOf(directive: DirectiveRow): Record<string, unknown> {
  return (directive.payload ?? {}) as Record<string, unknown>;
}

/**
 * Lost attempts a directive may have, however its worker fails: a lost
 * attempt of a retry-safe module does not use up `KEEL_MAX_EXECUTION_ATTEMPTS`
 * (that limit counts attempts that ended), but a worker that keeps dying
 * must not retry forever.
 */
export const MAX_LOST_ATTEMPTS = 10;

/** How many of a directive's attempts were lost, and how many ended otherwise. */
export interface AttemptCounts {
  readonly lost: number;
  readonly ended: number;
}

/**
 * The summary of a stored run. Another attempt may follow an ERROR ending
 * while ended attempts are fewer than `maxAttempts`, and a lost one while
 * lost attempts are fewer than {@linkcode MAX_LOST_ATTEMPTS}; either only
 * for a module that is retry-safe for the payload. A refused run never.
 */
export function summarize(
  run: ExecutionRunRow,
  module: ExecutionModule | undefined,
  facts: { directive: DirectiveRow; maxAttempts: number; counts: AttemptCounts },
): RunSummary {
  if (!ENDED.has(run.status)) {
    throw new Error(`Run "${run.id}" has not ended (status "${run.status}")`);
  }
  const again = run.status === "lost" || run.outcome === "ERROR";
  const refused = run.message?.startsWith(REFUSED) ?? false;
  return {
    runId: run.id,
    status: run.status as RunSummary["status"],
    outcome: run.outcome,
    message: run.message ?? "",
    durationMs: run.duration_ms,
    retryable: again && !refused && module !== undefined &&
      module.retrySafe(payloadOf(facts.directive)) &&
      (run.status === "lost"
        ? facts.counts.lost < MAX_LOST_ATTEMPTS
        : facts.counts.ended < facts.maxAttempts),
  };
}

/** The summary of a stored, ended run, with the directive's attempt counts read now. */
async function storedSummary(
  deps: { sql: Sql; maxAttempts: number },
  row: ExecutionRunRow,
  module: ExecutionModule | undefined,
  directive: DirectiveRow,
): Promise<RunSummary> {
  return summarize(row, module, {
    directive,
    maxAttempts: deps.maxAttempts,
    counts: await attemptCounts(deps.sql, row),
  });
}

function worstCaseOf(module: ExecutionModule, payload: Record<string, unknown>): string {
  const estimate = module.worstCase(payload);
  if (typeof estimate !== "string" || !DECIMAL_PATTERN.test(estimate)) {
    throw new TypeError(
      `Module "${module.type}" declared a worst case of ${JSON.stringify(estimate)}, not a decimal`,
    );
  }
  return estimate;
}

/**
 * Executes a run once. Returns the stored summary when the run has ended;
 * records a run found `running` as `lost` (its module started under an
 * activity that is gone); refuses, without starting anything, a run whose
 * reservation would exceed the directive's budget.
 */
export async function executeRun(
  deps: ExecuteDeps,
  facts: RunFacts,
  hooks: RunHooks,
): Promise<RunSummary> {
  const { sql, registry } = deps;
  const { run, directive } = facts;
  const module = registry.get(run.module);
  const summaryOf = (row: ExecutionRunRow) => storedSummary(deps, row, module, directive);
  if (ENDED.has(run.status)) return summaryOf(run);
  const payload = payloadOf(directive);
  const estimate = worstCaseOf(module, payload);
  if (run.status === "running") {
    return summaryOf(await recordLost(sql, run, module, estimate));
  }

  // Until the run is claimed nothing has started, so an unreachable database
  // is waited out here rather than failing the attempt.
  const waiting = (step: RunStep): ReachableOptions => ({
    onWait: () => hooks.alive(),
    onFirstFailure: (error) => hooks.unreachable?.(step, error),
  });
  // Once the module's process is ready, one transaction reserves the
  // module's worst case and claims the run: the run is marked started only
  // when its module is about to be, and only with its cost held.
  let refusal: BudgetExceededError | BudgetLedgerError | undefined;
  const reserveAndClaim = () =>
    inOneTransaction(sql, async (tx) => {
      await reserve(tx, {
        directiveId: directive.id,
        key: run.idempotency_key,
        provider: "module",
        model: module.type,
        estimate,
        currency: directive.budget_currency,
        action: `run module "${module.type}" (attempt ${run.attempt})`,
      });
      return (await claimRun(tx, run.id)).claimed;
    });
  const declared = module.permissions;
  const permissions = facts.granted ? intersectPermissions(declared, facts.granted) : declared;
  const ending = await dispatch(deps.sandbox, module, {
    runId: run.id,
    directiveId: directive.id,
    directiveType: directive.type,
    attempt: run.attempt,
    payload,
    idempotencyKey: downstreamKey(directive.id),
    budget: { amount: directive.budget_amount, currency: directive.budget_currency },
    timeboxSeconds: directive.timebox_seconds,
    deadline: Date.now() + directive.timebox_seconds * 1000,
    constraints: directive.constraints,
  }, {
    permissions,
    reservation: estimate,
    signal: hooks.abandon ? AbortSignal.any([hooks.signal, hooks.abandon]) : hooks.signal,
    onAlive: hooks.alive,
    onStarting: () => hooks.alive(),
    workingMemory: workingMemoryFor(sql, directive.id, run.id),
    beforeRun: async () => {
      try {
        return await untilReachable(reserveAndClaim, waiting("claim the run"));
      } catch (error) {
        if (!(error instanceof BudgetExceededError || error instanceof BudgetLedgerError)) {
          throw error;
        }
        refusal = error;
        return false;
      }
    },
  });
  if (refusal !== undefined) {
    const reason = refusal.message;
    const { run: refused } = await untilReachable(() =>
      finishRun(sql, run.id, {
        status: "failed",
        outcome: "ERROR",
        message: `${REFUSED} ${reason}`,
      }), waiting("record the refusal"));
    return summaryOf(refused);
  }
  if (ending.kind === "declined") {
    const stored = await getRun(sql, run.id);
    if (stored && ENDED.has(stored.status)) return summaryOf(stored);
    throw new Error(`Run "${run.id}" was claimed by another activity; not starting it again`);
  }
  if (hooks.abandon?.aborted && !hooks.signal.aborted) {
    // The activity is no longer ours (it timed out, or the worker is shutting
    // down): the module was stopped, and the loop records the run as lost.
    throw new RunAbandonedError(
      run.id,
      String(hooks.abandon.reason ?? "the activity was abandoned"),
    );
  }
  const recorded = await recordingOf(ending, {
    module,
    estimate,
    currency: directive.budget_currency,
    timeboxSeconds: directive.timebox_seconds,
    artifacts: deps.artifacts,
  });
  // The module has acted: its ending must be recorded, not the module run
  // again, so a database outage here is waited out rather than failed.
  // The ending and the attempt counts the summary needs, in one transaction.
  return await untilReachable(
    () =>
      inOneTransaction(sql, async (tx) => {
        const { run: ended } = await finishRun(tx, run.id, {
          ...recorded.ending,
          settle: { key: run.idempotency_key, amount: recorded.charge },
        });
        return await storedSummary({ ...deps, sql: tx }, ended, module, directive);
      }),
    waiting("record the ending"),
  );
}

async function recordLost(
  sql: Sql,
  run: ExecutionRunRow,
  module: ExecutionModule,
  estimate: string,
  detail = "it was found started by an earlier activity that is gone",
): Promise<ExecutionRunRow> {
  const { run: lost } = await finishRun(sql, run.id, {
    status: "lost",
    message: `attempt ${run.attempt} lost: module "${module.type}" started, then its worker ` +
      `stopped before recording how it ended (${detail}); whether it acted is unknown`,
    settle: { key: run.idempotency_key, amount: estimate },
  });
  return lost;
}

/**
 * Settles a run whose activity failed without reporting (its worker died):
 * a run still `pending` never started (`pending` is returned, and running it
 * is safe); a `running` one is recorded `lost`, charged its reservation; an
 * ended one is returned as stored.
 */
export async function settleLostRun(
  deps: { sql: Sql; registry: ModuleRegistry; maxAttempts: number },
  facts: RunFacts,
  detail: string,
): Promise<RunSummary> {
  const { run, directive } = facts;
  const module = deps.registry.get(run.module);
  const summaryOf = (row: ExecutionRunRow) => storedSummary(deps, row, module, directive);
  if (ENDED.has(run.status)) return summaryOf(run);
  if (run.status === "pending") {
    return {
      runId: run.id,
      status: "pending",
      outcome: null,
      message: detail,
      durationMs: null,
      retryable: true,
    };
  }
  const estimate = worstCaseOf(module, payloadOf(directive));
  return summaryOf(await recordLost(deps.sql, run, module, estimate, detail));
}

/** Records a run the loop ended from outside: canceled by an abort, or failed. */
export async function endRunFromLoop(
  deps: { sql: Sql; registry: ModuleRegistry; maxAttempts: number },
  facts: RunFacts,
  ending: { status: "failed" | "canceled"; message: string },
): Promise<RunSummary> {
  const { run: ended } = await finishRun(
    deps.sql,
    facts.run.id,
    ending.status === "failed"
      ? { status: "failed", outcome: "ERROR", message: ending.message }
      : { status: "canceled", message: ending.message },
  );
  return await storedSummary(deps, ended, deps.registry.find(ended.module), facts.directive);
}
