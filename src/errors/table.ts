/**
 * One table of domain errors: for each error class, the HTTP status the API
 * answers, the exit code the CLI ends with, and how an activity reports it
 * to Temporal (failure type, retryable or not). The server's problem mapping,
 * the CLI's exit codes and activities all read this table.
 *
 * @module
 */
import { ApplicationFailure } from "@temporalio/common";
import { AuthenticationError, ScopeError } from "../auth/tokens.ts";
import { McpOriginError } from "../mcp/errors.ts";
import { TokenListError } from "../auth/token_list.ts";
import {
  ArtifactIntegrityError,
  ArtifactNotFoundError,
  ArtifactTooLargeError,
  ObjectStoreError,
} from "../artifacts/errors.ts";
import { ConfigError } from "../config/mod.ts";
import { DecisionConflictError } from "../directives/decisions.ts";
import { IllegalTransitionError } from "../directives/lifecycle.ts";
import {
  DirectiveConflictError,
  DirectiveNotFoundError,
  TransitionRequestError,
} from "../directives/mutator.ts";
import { InvalidCursorError } from "../directives/queries.ts";
import { DirectiveValidationError, IdempotencyConflictError } from "../directives/submit.ts";
import { LateScoreError } from "../evaluation/late.ts";
import { ReplayedDecisionError, SeparationOfDutiesError } from "../directives/decisions.ts";
import { DecisionSignatureError } from "../auth/signing.ts";
import { DecisionRefusedError, LoopTimeoutError } from "../loop/commands.ts";

/** The CLI's exit codes; `keel --help` and docs/cli.md document them. */
export const EXIT = {
  /** Done; when following, the directive completed. */
  ok: 0,
  /** The followed directive ended blocked or aborted, or the operation was refused. */
  refused: 1,
  /** Bad command line, unreadable input file or bad configuration. */
  usage: 2,
  /** No directive has that id. */
  notFound: 3,
  /** The directive document (or, for `policy diff`, the candidate policy) is not valid. */
  invalid: 4,
  /** The database or Temporal could not be reached. */
  unreachable: 5,
} as const;

/** Bad input at the edge (a query parameter, a body field): HTTP 400, CLI exit 2. */
export class InputError extends Error {
  /** Each bad field. */
  readonly fields: readonly { path: string; message: string }[];
  /** Creates the error. */
  constructor(
    message: string,
    fields: readonly { path: string; message: string }[] = [],
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "InputError";
    this.fields = fields;
  }
}

/** How one class of error is reported everywhere. */
export interface ErrorKind {
  /** A stable name for JSON output and Temporal's failure type. */
  readonly kind: string;
  /** HTTP status. */
  readonly status: number;
  /** CLI exit code. */
  readonly exit: number;
  /** Whether retrying the same call cannot succeed. */
  readonly nonRetryable: boolean;
  /** Whether the message may be shown to a caller (500s never are). */
  readonly public: boolean;
}

// deno-lint-ignore no-explicit-any
type ErrorClass = abstract new (...args: any[]) => Error;

function kind(
  kind: string,
  status: number,
  exit: number,
  nonRetryable = true,
): ErrorKind {
  return { kind, status, exit, nonRetryable, public: status < 500 || status === 503 };
}

/** Every domain error, most specific first. */
export const errorTable: readonly (readonly [ErrorClass, ErrorKind])[] = [
  [DirectiveValidationError, kind("invalid_directive", 400, EXIT.invalid)],
  [InputError, kind("invalid_input", 400, EXIT.usage)],
  [InvalidCursorError, kind("invalid_input", 400, EXIT.usage)],
  [TransitionRequestError, kind("invalid_input", 400, EXIT.usage)],
  [LateScoreError, kind("invalid_input", 400, EXIT.usage)],
  [AuthenticationError, kind("unauthenticated", 401, EXIT.usage)],
  [ScopeError, kind("forbidden", 403, EXIT.usage)],
  [McpOriginError, kind("forbidden", 403, EXIT.usage)],
  [DirectiveNotFoundError, kind("not_found", 404, EXIT.notFound)],
  [ArtifactNotFoundError, kind("not_found", 404, EXIT.notFound)],
  [DirectiveConflictError, kind("conflict", 409, EXIT.refused)],
  [DecisionConflictError, kind("conflict", 409, EXIT.refused)],
  [IdempotencyConflictError, kind("conflict", 409, EXIT.refused)],
  [IllegalTransitionError, kind("conflict", 409, EXIT.refused)],
  [DecisionRefusedError, kind("refused", 409, EXIT.refused)],
  [SeparationOfDutiesError, kind("forbidden", 403, EXIT.refused)],
  [ReplayedDecisionError, kind("conflict", 409, EXIT.refused)],
  [DecisionSignatureError, kind("forbidden", 403, EXIT.refused)],
  [ArtifactTooLargeError, kind("too_large", 413, EXIT.usage)],
  [LoopTimeoutError, kind("unreachable", 503, EXIT.unreachable, false)],
  [ObjectStoreError, kind("unreachable", 503, EXIT.unreachable, false)],
  [ArtifactIntegrityError, kind("integrity", 500, EXIT.refused)],
  [ConfigError, kind("configuration", 500, EXIT.usage)],
  [TokenListError, kind("configuration", 500, EXIT.usage)],
];

/** How `error` is reported, or undefined for an error no table row names (an internal error). */
export function errorKindOf(error: unknown): ErrorKind | undefined {
  for (const [type, found] of errorTable) if (error instanceof type) return found;
  return undefined;
}

/**
 * The failure an activity throws for `error`: an `ApplicationFailure` whose
 * type is the table's kind and that is non-retryable when retrying cannot
 * help. An error the table does not name is returned as is (Temporal retries it).
 */
export function toActivityFailure(error: unknown): unknown {
  const found = errorKindOf(error);
  if (found === undefined || !(error instanceof Error)) return error;
  return ApplicationFailure.create({
    type: found.kind,
    message: error.message,
    nonRetryable: found.nonRetryable,
    cause: error,
  });
}
