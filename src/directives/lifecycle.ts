import { DIRECTIVE_STATUSES, type DirectiveStatus } from "../models/mod.ts";

/**
 * The directive lifecycle: `draft → proposed → approved → executing → complete`,
 * with `blocked` (the policy said BLOCK) and `aborted` (rejected, timed out,
 * canceled or failed) as the other exits. `complete`, `blocked` and `aborted`
 * are terminal. Migration 0002's trigger encodes the same table; a test
 * compares the two.
 */
export const TRANSITIONS: Readonly<Record<DirectiveStatus, readonly DirectiveStatus[]>> = {
  draft: ["proposed", "aborted"],
  proposed: ["approved", "blocked", "aborted"],
  approved: ["executing", "aborted"],
  executing: ["complete", "aborted"],
  complete: [],
  blocked: [],
  aborted: [],
};

/** Every status, in lifecycle order. */
export const STATUSES: readonly DirectiveStatus[] = DIRECTIVE_STATUSES;

/** The statuses reachable from `from` in one step. */
export function nextStates(from: DirectiveStatus): readonly DirectiveStatus[] {
  return TRANSITIONS[from];
}

/** Whether `status` has no exits. */
export function isTerminal(status: DirectiveStatus): boolean {
  return TRANSITIONS[status].length === 0;
}

/** Whether `from → to` is a legal step. */
export function canTransition(from: DirectiveStatus, to: DirectiveStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Thrown for a step the lifecycle does not allow. */
export class IllegalTransitionError extends Error {
  /** The current status. */
  readonly from: DirectiveStatus;
  /** The requested status. */
  readonly to: DirectiveStatus;
  /** Creates the error. */
  constructor(from: DirectiveStatus, to: DirectiveStatus, options?: ErrorOptions) {
    const allowed = TRANSITIONS[from];
    super(
      `Cannot move a directive from "${from}" to "${to}": ${
        allowed.length === 0
          ? `"${from}" is terminal`
          : `from "${from}" it may go to ${allowed.map((s) => `"${s}"`).join(", ")}`
      }`,
      options,
    );
    this.name = "IllegalTransitionError";
    this.from = from;
    this.to = to;
  }
}

/** Throws {@linkcode IllegalTransitionError} unless `from → to` is legal. */
export function validateTransition(from: DirectiveStatus, to: DirectiveStatus): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
}
