/**
 * How activities report errors to the loop: business errors, and values the
 * database refuses, fail at once (retrying would fail the same way and hold
 * the loop); everything else is an infrastructure error Temporal retries.
 *
 * @module
 */
import { ApplicationFailure } from "@temporalio/activity";
import {
  DecisionConflictError,
  DirectiveConflictError,
  DirectiveNotFoundError,
  IllegalTransitionError,
  ReplayedDecisionError,
  SeparationOfDutiesError,
} from "../directives/mod.ts";
import {
  DispatchError,
  RunAbandonedError,
  RunNotFoundError,
  UnknownModuleError,
} from "../execution/mod.ts";
import { DecisionSignatureError } from "../auth/signing.ts";

/** Errors that fail the same way however often they are retried. */
const BUSINESS_ERRORS = [
  DirectiveNotFoundError,
  IllegalTransitionError,
  DecisionConflictError,
  DirectiveConflictError,
  SeparationOfDutiesError,
  ReplayedDecisionError,
  DecisionSignatureError,
  UnknownModuleError,
  DispatchError,
  RunNotFoundError,
  RunAbandonedError,
];

/**
 * Postgres error classes a retry cannot fix: data exceptions (22xxx: a NUL,
 * an untranslatable character, a value too long) and integrity violations
 * (23xxx: a CHECK, NOT NULL or foreign key refused the value).
 */
function refusedValue(error: unknown): { code: string; field: string } | undefined {
  const pg = error as { code?: unknown; column_name?: unknown; constraint_name?: unknown };
  if (typeof pg?.code !== "string" || !/^2[23]/.test(pg.code)) return undefined;
  const field = typeof pg.column_name === "string"
    ? pg.column_name
    : typeof pg.constraint_name === "string"
    ? pg.constraint_name
    : "a value";
  return { code: pg.code, field };
}

/** Rethrows `error` as a non-retryable failure when retrying cannot help. */
export function nonRetryable(error: unknown): never {
  if (error instanceof DecisionConflictError) {
    // The loop learns the stored decision from the details, and its gate
    // moves on even when the decision was recorded outside it.
    throw ApplicationFailure.nonRetryable(error.message, error.name, {
      decision: error.existing.decision,
      directiveStatus: error.directiveStatus,
    });
  }
  if (BUSINESS_ERRORS.some((type) => error instanceof type)) {
    const known = error as Error;
    throw ApplicationFailure.nonRetryable(known.message, known.name);
  }
  const refused = refusedValue(error);
  if (refused !== undefined) {
    throw ApplicationFailure.nonRetryable(
      `the database refused ${refused.field} (SQLSTATE ${refused.code}): ${
        (error as Error).message
      }`,
      "ValueRefused",
    );
  }
  throw error;
}
