import type { Budget, ModuleOutcome, ModulePermissions } from "../models/mod.ts";

export type { ModulePermissions };

/** What a module is given: everything it may act on, nothing more. */
export interface ModuleInput {
  /** The execution run this call belongs to. */
  readonly runId: string;
  /** The directive. */
  readonly directiveId: string;
  /** The directive type, which selected this module. */
  readonly directiveType: string;
  /** The attempt this run belongs to, from 1. */
  readonly attempt: number;
  /** The directive's payload. */
  readonly payload: Readonly<Record<string, unknown>>;
  /**
   * The key to pass downstream (for example as an `Idempotency-Key` header).
   * A retry-safe module's repeat of a lost attempt gets the same key.
   */
  readonly idempotencyKey: string;
  /** The directive's budget ceiling. */
  readonly budget: Budget;
  /** The directive's timebox in seconds. */
  readonly timeboxSeconds: number;
  /** Epoch milliseconds at which the host kills the module's process. */
  readonly deadline: number;
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
  /** Artifacts to store (besides those sent with `emitArtifact`). */
  readonly artifacts: readonly ArtifactDraft[];
  /** What the run spent, as a decimal in the budget's currency. */
  readonly budgetConsumed: string;
}

/** A module's result with the time the host measured around it. */
export interface DispatchResult extends ModuleResult {
  /** Milliseconds the module ran. */
  readonly durationMs: number;
}

/**
 * The directive's working memory as a module sees it: a bounded scratchpad,
 * key to JSON, kept with the directive's record and shared by its attempts,
 * so a retried attempt reads what an earlier one wrote. Keys are a letter or
 * digit followed by up to 127 of `A-Za-z0-9_.:-`; the live values of one
 * directive take at most 64 KiB and it takes at most 1,000 writes. A refused
 * call rejects with an error named `WorkingMemoryError` or
 * `WorkingMemoryFullError` whose message quotes the key; nothing was written.
 */
export interface WorkingMemory {
  /** The value of `key`, or `undefined` when it holds none. */
  get(key: string): Promise<unknown>;
  /** Sets `key` to a JSON value (`null` included; `undefined` is refused). */
  set(key: string, value: unknown): Promise<void>;
  /** Removes `key`; removing an absent key does nothing. */
  delete(key: string): Promise<void>;
  /** The keys that hold a value, sorted. */
  keys(): Promise<string[]>;
}

/**
 * What the host gives a running module, over messages from inside its process.
 * There is no SQL handle, no environment and no secret here.
 */
export interface ModuleContext {
  /**
   * Aborted when the deadline passes. A module need not watch it: at the
   * deadline, or on abort, the host kills the process whatever it does.
   */
  readonly signal: AbortSignal;
  /** Reports liveness with optional details (shown as the activity's heartbeat). */
  heartbeat(details?: unknown): void;
  /** Sends an artifact to the host now; it is stored with the run's ending. */
  emitArtifact(draft: ArtifactDraft): void;
  /**
   * Reports what the run has spent so far (a decimal, in the budget's
   * currency). Reporting more than the reservation fails the run at once.
   */
  reportCost(amount: string): void;
  /** The directive's working memory, read and written by the host on the run's behalf. */
  readonly memory: WorkingMemory;
}

/**
 * An execution module: bounded action for one directive type. It must not
 * reason or decide; it does what the payload says within budget and timebox.
 * Build one with {@linkcode defineModule}; it runs in a Deno process of its
 * own whose permissions are what it declares (narrowed by the policy).
 */
export interface ExecutionModule {
  /** The directive type it serves, snake_case. */
  readonly type: string;
  /** One line on what it does. */
  readonly description: string;
  /** The URL of the file that defines it: the script the sandbox runs. */
  readonly entry: string;
  /** The most it may touch; its process gets at most this. */
  readonly permissions: ModulePermissions;
  /**
   * Whether running the same payload again is harmless, so an attempt lost
   * with its worker may be followed by another (with the same downstream
   * idempotency key). `false` means at most one run ever starts.
   */
  retrySafe(payload: Readonly<Record<string, unknown>>): boolean;
  /**
   * The most one run may spend for `payload`, a decimal in the budget's
   * currency. It is reserved against the directive's budget before the
   * process starts.
   */
  worstCase(payload: Readonly<Record<string, unknown>>): string;
  /**
   * The `host:port` entries a run for `payload` will contact, for the policy
   * to check against its allow-list before anything runs (empty: none).
   */
  targets(payload: Readonly<Record<string, unknown>>): readonly string[];
  /** Runs the action (inside the module's process). */
  execute(input: ModuleInput, context: ModuleContext): Promise<ModuleResult>;
}
