/**
 * Check 6, the directive examples: every `*.json`, `*.yaml` and `*.yml` file
 * under `examples/directives/` (recursively) parses and passes the directive
 * contract ({@linkcode parseDirective}) over the registered module types.
 * Each problem is reported at the offending key (or list item) in the source
 * text, with the field's JSON path and the contract's message.
 *
 * @module
 */
import { posix } from "node:path";
import { isMap, isScalar, isSeq, type Node, parseDocument } from "yaml";
import { DirectiveValidationError, parseDirective } from "../directives/submit.ts";
import type { DirectiveSchema } from "../models/directive.ts";
import { ValidateError, type Violation } from "./violation.ts";

/** The folder of example directives, relative to the root. */
export const EXAMPLES_DIR = "examples/directives";

/** File names that hold a directive document. */
const DOCUMENT_FILE = /\.(?:json|ya?ml)$/;

/** An example file: its path relative to the checked root (with `/`), and its text. */
export interface ExampleFile {
  /** e.g. `examples/directives/noop.json` */
  readonly path: string;
  /** The file's contents. */
  readonly text: string;
}

/** What {@linkcode checkDirectiveExamples} found. */
export interface DirectiveExamplesReport {
  /** Every violation, ordered by file and position. */
  readonly violations: Violation[];
  /** How many files were checked. */
  readonly files: number;
  /** How many of them passed. */
  readonly valid: number;
}

/** The 1-based line and column (UTF-16 code units) of `offset` in `text`. */
function lineCol(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const line = before.split("\n").length;
  return { line, col: before.length - before.lastIndexOf("\n") };
}

/**
 * The offset in the source of the node at `path` (for an object member, its
 * key; for a list item, the item), or of its nearest ancestor that exists.
 */
function locate(root: Node | null, path: readonly PropertyKey[]): number | undefined {
  let node: unknown = root;
  let offset: number | undefined = root?.range?.[0];
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) =>
        isScalar(item.key) && String(item.key.value) === String(segment)
      );
      if (pair === undefined) break;
      offset = isScalar(pair.key) ? pair.key.range?.[0] ?? offset : offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === "number") {
      const item = node.items[segment];
      if (item === undefined) break;
      offset = (item as Node).range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset;
}

/** Parses the file, or returns the parse error as a violation. */
export function parseExample(file: ExampleFile): { value: unknown; root: Node | null } | Violation {
  const isJson = file.path.endsWith(".json");
  const document = parseDocument(file.text, { prettyErrors: true });
  if (isJson) {
    let value: unknown;
    try {
      value = JSON.parse(file.text);
    } catch (error) {
      const message = (error as Error).message;
      const position = /at position (\d+)/.exec(message);
      const { line, col } = lineCol(file.text, position ? Number(position[1]) : file.text.length);
      const what = message.replace(/ in JSON at position \d+.*$/, "");
      return { path: file.path, line, col, message: `invalid JSON: ${what}` };
    }
    // JSON.parse keeps the last of two equal keys; a directive must not say two things.
    const duplicate = document.errors.find((error) => error.code === "DUPLICATE_KEY");
    if (duplicate) {
      const [at] = duplicate.linePos ?? [{ line: 1, col: 1 }];
      return {
        path: file.path,
        line: at.line,
        col: at.col,
        message: "invalid JSON: a key is repeated",
      };
    }
    return { value, root: document.errors.length === 0 ? document.contents : null };
  }
  const [error] = document.errors;
  if (error) {
    const [at] = error.linePos ?? [{ line: 1, col: 1 }];
    const what = (error.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "");
    return { path: file.path, line: at.line, col: at.col, message: `invalid YAML: ${what}` };
  }
  return { value: document.toJS({ maxAliasCount: 100 }), root: document.contents };
}

/** The problems of one file: a parse error, or every field error of the contract. */
function checkFile(file: ExampleFile, schema: DirectiveSchema): Violation[] {
  const parsed = parseExample(file);
  if ("path" in parsed) return [parsed];
  try {
    parseDirective(schema, parsed.value);
    return [];
  } catch (error) {
    if (!(error instanceof DirectiveValidationError)) throw error;
    const cause = error.cause as {
      issues?: { path: PropertyKey[]; code: string; keys?: string[] }[];
    };
    return error.fields.map((field, i): Violation => {
      const issue = cause?.issues?.[i];
      const path = issue === undefined
        ? []
        : issue.code === "unrecognized_keys" && issue.keys?.[0] !== undefined
        ? [...issue.path, issue.keys[0]]
        : issue.path;
      const offset = locate(parsed.root, path);
      const { line, col } = offset === undefined ? { line: 1, col: 1 } : lineCol(file.text, offset);
      const name = field.path === "" ? "(document)" : field.path;
      return { path: file.path, line, col, message: `${name}: ${field.message}` };
    });
  }
}

/**
 * Checks every example against the contract. Pure: takes file texts and the
 * contract built over the registered module types.
 */
export function checkDirectiveExamples(
  files: readonly ExampleFile[],
  schema: DirectiveSchema,
): DirectiveExamplesReport {
  const violations: Violation[] = [];
  let valid = 0;
  for (const file of files) {
    const problems = checkFile(file, schema);
    if (problems.length === 0) valid++;
    violations.push(
      ...problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0)),
    );
  }
  return { violations, files: files.length, valid };
}

/**
 * Reads every `*.json`, `*.yaml` and `*.yml` file under `<root>/<dir>`,
 * recursively, with paths relative to `root`, sorted. Symbolic links are not
 * followed. Undefined when the folder does not exist.
 */
export async function readExampleFiles(
  root: string,
  dir = EXAMPLES_DIR,
): Promise<ExampleFile[] | undefined> {
  const files: ExampleFile[] = [];
  async function walk(relative: string): Promise<void> {
    for await (const entry of Deno.readDir(posix.join(root, relative))) {
      const path = `${relative}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (entry.isFile && DOCUMENT_FILE.test(entry.name)) {
        files.push({ path, text: await Deno.readTextFile(posix.join(root, path)) });
      }
    }
  }
  try {
    await walk(posix.normalize(dir).replace(/\/+$/, ""));
  } catch (cause) {
    if (cause instanceof Deno.errors.NotFound) return undefined;
    throw new ValidateError(
      `Cannot read "${posix.join(root, dir)}": ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      { cause },
    );
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
