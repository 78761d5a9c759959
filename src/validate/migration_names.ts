/**
 * Check 2, the migration files: every entry of `migrations/` is named
 * `NNNN_snake_case.sql`, and the numbers run from 0001 with no gaps or repeats.
 * The rules themselves live in the migration runner ({@linkcode checkMigrationNames}),
 * so validate and `deno task migrate` can never disagree.
 *
 * @module
 */
import { checkMigrationNames } from "../db/mod.ts";
import { ValidateError, type Violation } from "./violation.ts";

/** What {@linkcode checkMigrationEntries} found. */
export interface MigrationNamesReport {
  /** Every violation, each naming the file(s). */
  readonly violations: Violation[];
  /** The entries checked, sorted. */
  readonly entries: readonly string[];
}

/**
 * Checks the names of the entries of a migrations folder (files and folders
 * alike: anything in there is a candidate migration). Pure.
 */
export function checkMigrationEntries(entries: readonly string[]): MigrationNamesReport {
  const violations = checkMigrationNames(entries).map((problem): Violation => {
    // The runner's messages read "migrations/<file>: what is wrong".
    const split = problem.indexOf(": ");
    return split === -1
      ? { path: "migrations", message: problem }
      : { path: problem.slice(0, split), message: problem.slice(split + 2) };
  });
  return { violations, entries: [...entries].sort() };
}

/** Lists the entries of `dir` (the root's `migrations/` folder). */
export async function listMigrationEntries(dir: string): Promise<string[]> {
  const entries: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) entries.push(entry.name);
  } catch (cause) {
    throw new ValidateError(`Cannot read the migrations folder "${dir}": ${errorText(cause)}`, {
      cause,
    });
  }
  return entries;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
