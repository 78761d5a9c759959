/**
 * Check 5, the written contract: the field table in
 * `ai/runtime/contracts/directive.md` (first column, the field name in
 * backticks) lists exactly the keys of the zod contract. The file is read as
 * text; nothing under `src/` imports from `ai/`.
 *
 * @module
 */
import { readOptionalText } from "./source_files.ts";
import type { Violation } from "./violation.ts";

/** The cognition-side description of the directive contract, relative to the root. */
export const CONTRACT_DOC_PATH = "ai/runtime/contracts/directive.md";

/** A field named in the table. */
export interface ContractRow {
  /** The field name, without backticks. */
  readonly field: string;
  /** 1-based line of the table row. */
  readonly line: number;
  /** 1-based column of the opening backtick. */
  readonly col: number;
}

/** What {@linkcode checkContractFields} found. */
export interface ContractFieldsReport {
  /** Every violation. */
  readonly violations: Violation[];
  /** The fields the table lists, in order. */
  readonly rows: readonly ContractRow[];
}

function cells(line: string): string[] {
  return line.trim().replace(/^\|/, "").replace(/\|$/, "").split("|");
}

const SEPARATOR = /^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/;

/**
 * Reads the first Markdown table of `text` (a header row, a separator row,
 * then rows) and compares its first column with `fields`. Pure. Extra fields
 * are reported at their row; missing ones at 1:1, each named.
 */
export function checkContractFields(
  text: string,
  fields: readonly string[],
  path = CONTRACT_DOC_PATH,
): ContractFieldsReport {
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((line, i) =>
    line.trim().startsWith("|") && SEPARATOR.test(lines[i + 1]?.trim() ?? "")
  );
  if (start === -1) {
    return {
      violations: [{
        path,
        line: 1,
        col: 1,
        message: "no field table found: expected a Markdown table whose first column names " +
          "each field of the directive contract in backticks",
      }],
      rows: [],
    };
  }
  const violations: Violation[] = [];
  const rows: ContractRow[] = [];
  for (let i = start + 2; i < lines.length && lines[i]!.trim().startsWith("|"); i++) {
    const line = lines[i]!;
    const first = cells(line)[0] ?? "";
    const match = /^\s*`([^`]+)`\s*$/.exec(first);
    if (!match) {
      violations.push({
        path,
        line: i + 1,
        col: 1,
        message: `the first column is not a field name in backticks: "${first.trim()}"`,
      });
      continue;
    }
    const row = { field: match[1]!, line: i + 1, col: line.indexOf("`") + 1 };
    if (rows.some((seen) => seen.field === row.field)) {
      violations.push({ ...row, path, message: `\`${row.field}\` is listed twice` });
      continue;
    }
    rows.push(row);
  }
  const known = new Set(fields);
  const listed = new Set(rows.map((row) => row.field));
  for (const field of fields) {
    if (listed.has(field)) continue;
    violations.push({
      path,
      line: 1,
      col: 1,
      message: `the zod contract has the field \`${field}\` but the table does not list it`,
    });
  }
  for (const row of rows) {
    if (known.has(row.field)) continue;
    violations.push({
      path,
      line: row.line,
      col: row.col,
      message: `the table lists \`${row.field}\` but the zod contract has no such field ` +
        `(it has: ${fields.join(", ")})`,
    });
  }
  violations.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0));
  return { violations, rows };
}

/** Reads `<root>/ai/runtime/contracts/directive.md`; undefined when it does not exist. */
export function readContractDoc(root: string): Promise<string | undefined> {
  return readOptionalText(root, CONTRACT_DOC_PATH);
}
