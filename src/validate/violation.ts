/**
 * The shared vocabulary of validate's checks: a violation with its location, a
 * check's result, and the error for problems that stop validate from checking.
 *
 * @module
 */

/** The checks validate runs, in order. */
export type CheckName =
  | "boundaries"
  | "migrations"
  | "schema"
  | "json-schema"
  | "contract"
  | "examples"
  | "module-permissions"
  | "env";

/** One rule broken at one place. */
export interface Violation {
  /** Path relative to the checked root, e.g. `src/workflows/flow.ts`. */
  readonly path: string;
  /** 1-based line, when the problem sits at a point in the file. */
  readonly line?: number;
  /** 1-based column (UTF-16 code units), when `line` is given. */
  readonly col?: number;
  /** What is wrong, and what the rule is. */
  readonly message: string;
}

/** The outcome of one check. */
export interface CheckResult {
  /** Which check. */
  readonly check: CheckName;
  /** `ok`, `failed` (violations found) or `skipped`. */
  readonly status: "ok" | "failed" | "skipped";
  /** One line saying what was checked, or why it was skipped. */
  readonly summary: string;
  /** Every violation found; empty unless `status` is `failed`. */
  readonly violations: readonly Violation[];
}

/** Formats a violation as `path:line:col: message` (or `path: message` without a point). */
export function formatViolation(violation: Violation): string {
  const where = violation.line === undefined
    ? violation.path
    : `${violation.path}:${violation.line}:${violation.col ?? 1}`;
  return `${where}: ${violation.message}`;
}

/** Builds a check result whose status follows from its violations. */
export function resultOf(
  check: CheckName,
  violations: readonly Violation[],
  okSummary: string,
): CheckResult {
  if (violations.length === 0) return { check, status: "ok", summary: okSummary, violations };
  const count = `${violations.length} violation${violations.length === 1 ? "" : "s"}`;
  return { check, status: "failed", summary: `FAILED, ${count}`, violations };
}

/**
 * Thrown when validate cannot do its job (unreadable root, unreachable
 * database, bad configuration): an infrastructure or usage problem, not a
 * violation. The CLI maps it to exit code 2.
 */
export class ValidateError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ValidateError";
  }
}
