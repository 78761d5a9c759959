import type { Budget, ModuleOutcome } from "../models/mod.ts";

/** What a module is given: everything it may act on, nothing more. */
export interface ModuleInput {
  /** The execution run this call belongs to. */
  readonly runId: string;
  /** The directive. */
  readonly directiveId: string;
  /** The directive type, which selected this module. */
  readonly directiveType: string;
  /** The directive's payload. */
  readonly payload: Readonly<Record<string, unknown>>;
  /** Unique per run: a module that calls out must pass it on, so retries are safe. */
  readonly idempotencyKey: string;
  /** The directive's budget ceiling. */
  readonly budget: Budget;
  /** The directive's timebox in seconds. */
  readonly timeboxSeconds: number;
  /** The directive's constraints. */
  readonly constraints: readonly string[];
}

/** An artifact a module produced, before it is stored. */
export interface ArtifactDraft {
  /** snake_case kind, e.g. `echo`. */
  readonly kind: string;
  /** MIME type of the body. */
  readonly contentType: string;
  /** The body. */
  readonly body: Uint8Array;
}

/** What a module reports back. */
export interface ModuleResult {
  /** SUCCESS, FAILURE (the module ran and the goal was not met) or ERROR. */
  readonly status: ModuleOutcome;
  /** A small JSON result; large bodies belong in artifacts. */
  readonly result: unknown;
  /** A human-readable summary. */
  readonly message: string;
  /** Artifacts to store. */
  readonly artifacts: readonly ArtifactDraft[];
  /** What the run spent, as a decimal in the budget's currency. */
  readonly budgetConsumed: string;
}

/** A module's result with the time the host measured around it. */
export interface DispatchResult extends ModuleResult {
  /** Milliseconds the module ran. */
  readonly durationMs: number;
}

/** What the host gives a running module. */
export interface ModuleContext {
  /** Aborted when the run is canceled or its timebox ends. */
  readonly signal: AbortSignal;
  /** Reports liveness; cancellation reaches only a module that heartbeats. */
  heartbeat(details?: unknown): void;
}

/**
 * An execution module: bounded action for one directive type. It must not
 * reason or decide; it does what the payload says within budget and timebox.
 */
export interface ExecutionModule {
  /** The directive type it serves, snake_case. */
  readonly type: string;
  /** One line on what it does. */
  readonly description: string;
  /** Runs the action. */
  execute(input: ModuleInput, context: ModuleContext): Promise<ModuleResult>;
}
