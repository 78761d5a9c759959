/**
 * Check 1, the import boundaries:
 *
 * - nothing under `src/` imports anything under `ai/` (types included);
 * - workflow code (`src/workflows/`) imports values only from
 *   `@temporalio/workflow` and, by relative path, other workflow files; types
 *   may come from anywhere through `import type` / `export type`; and it never
 *   touches the `Deno` global.
 *
 * Pure: it takes file texts and returns violations.
 *
 * @module
 */
import { posix } from "node:path";
import { findGlobalUses, findImports, type ImportRef, tokenize } from "./scan.ts";
import type { Violation } from "./violation.ts";

/** A source file: its path relative to the checked root (with `/`), and its text. */
export interface SourceFile {
  /** e.g. `src/workflows/flow.ts` */
  readonly path: string;
  /** The file's contents. */
  readonly text: string;
}

/** What {@linkcode checkBoundaries} needs besides the files. */
export interface BoundaryOptions {
  /** Absolute path of the checked root, to recognise absolute paths and `file:` URLs into `ai/`. */
  readonly rootDir?: string;
  /** The import map (`imports` of deno.json), so a bare specifier mapped into `ai/` is caught. */
  readonly importMap?: Readonly<Record<string, string>>;
}

/** What {@linkcode checkBoundaries} found. */
export interface BoundaryReport {
  /** Every violation, ordered by file and position. */
  readonly violations: Violation[];
  /** How many files under `src/` were scanned. */
  readonly files: number;
  /** How many of them are workflow files. */
  readonly workflowFiles: number;
  /** How many module references were checked. */
  readonly imports: number;
}

/** The folder of the cognition side that `src/` must not reach. */
const AI_DIR = "ai";
/** The folder whose files are Temporal workflow code. */
const WORKFLOWS_DIR = "src/workflows/";
/** The one package workflow code may import values from (and its subpaths). */
const WORKFLOW_PACKAGE = "@temporalio/workflow";

const VERBS: Record<ImportRef["kind"], string> = {
  "import": "imports",
  "export-from": "re-exports from",
  "dynamic": "dynamically imports",
  "require": "requires",
};

/** Where a specifier points, when it names a local file. */
type Target =
  | { readonly local: string } // path relative to the root (may start with ../)
  | { readonly absolute: string } // an absolute path outside the root
  | undefined; // a package or remote module

function isUnderAi(path: string): boolean {
  return path === AI_DIR || path.startsWith(`${AI_DIR}/`);
}

function fromAbsolute(path: string, rootDir: string | undefined): Target {
  const normal = posix.normalize(path);
  if (rootDir !== undefined) {
    const root = posix.normalize(rootDir).replace(/\/+$/, "");
    if (normal === root) return { local: "." };
    if (normal.startsWith(`${root}/`)) return { local: normal.slice(root.length + 1) };
  }
  return { absolute: normal };
}

function fromImportMap(
  specifier: string,
  importMap: Readonly<Record<string, string>>,
): string | undefined {
  if (importMap[specifier] !== undefined) return importMap[specifier];
  const prefix = Object.keys(importMap)
    .filter((key) => key.endsWith("/") && specifier.startsWith(key))
    .sort((a, b) => b.length - a.length)[0];
  return prefix === undefined ? undefined : `${importMap[prefix]}${specifier.slice(prefix.length)}`;
}

/** Resolves a specifier written in `fromPath` to what it names on disk, if anything. */
export function resolveSpecifier(
  specifier: string,
  fromPath: string,
  options: BoundaryOptions = {},
): Target {
  if (specifier.startsWith("./") || specifier.startsWith("../") || /^\.\.?$/.test(specifier)) {
    return { local: posix.normalize(posix.join(posix.dirname(fromPath), specifier)) };
  }
  if (specifier.startsWith("file:")) {
    try {
      return fromAbsolute(decodeURIComponent(new URL(specifier).pathname), options.rootDir);
    } catch {
      return undefined;
    }
  }
  if (specifier.startsWith("/")) return fromAbsolute(specifier, options.rootDir);
  if (/^[a-z][a-z0-9+.-]*:/i.test(specifier)) return undefined; // npm:, jsr:, node:, https:
  const mapped = options.importMap ? fromImportMap(specifier, options.importMap) : undefined;
  if (mapped !== undefined) {
    if (mapped.startsWith("./") || mapped.startsWith("../")) {
      return { local: posix.normalize(mapped) }; // import maps are relative to deno.json, at the root
    }
    return mapped.startsWith("/") || mapped.startsWith("file:")
      ? resolveSpecifier(mapped, "deno.json", options)
      : undefined;
  }
  // An unmapped bare `ai/...` would be a path in a bundler or a future import map: catch it too.
  return isUnderAi(specifier) ? { local: specifier } : undefined;
}

/** The `ai/` rule for one reference; a message, or undefined when it is fine. */
function aiBoundaryProblem(ref: ImportRef, file: SourceFile, options: BoundaryOptions) {
  if (ref.specifier === undefined) {
    return `${VERBS[ref.kind]} a computed specifier, which cannot be checked against the ai/ ` +
      `boundary; use a string literal`;
  }
  const target = resolveSpecifier(ref.specifier, file.path, options);
  if (target === undefined) return undefined;
  if ("local" in target && isUnderAi(target.local)) {
    return `${VERBS[ref.kind]} "${ref.specifier}", which resolves to ${target.local}: ` +
      `nothing under src/ may import from ai/ (cognition must not execute)`;
  }
  if ("absolute" in target && target.absolute.split("/").includes(AI_DIR)) {
    return `${VERBS[ref.kind]} "${ref.specifier}", an absolute path into an ai/ folder: ` +
      `nothing under src/ may import from ai/ (cognition must not execute)`;
  }
  return undefined;
}

/** The workflow rule for one reference; a message, or undefined when it is fine. */
function workflowProblem(ref: ImportRef, file: SourceFile, options: BoundaryOptions) {
  const rule = `workflow files may import values only from ${WORKFLOW_PACKAGE} and, by ` +
    `relative path, other files under ${WORKFLOWS_DIR}; use \`import type\` for types`;
  if (ref.typeOnly) return undefined;
  const spec = ref.specifier;
  if (spec === undefined) {
    return `workflow code imports a computed specifier at run time: ${rule}`;
  }
  if (spec === WORKFLOW_PACKAGE || spec.startsWith(`${WORKFLOW_PACKAGE}/`)) return undefined;
  if (spec.startsWith(".")) {
    const target = resolveSpecifier(spec, file.path, options);
    if (target && "local" in target && target.local.startsWith(WORKFLOWS_DIR)) return undefined;
    const where = target && "local" in target ? `, which resolves to ${target.local}` : "";
    return `workflow code ${VERBS[ref.kind]} "${spec}"${where}: ${rule}`;
  }
  return `workflow code ${VERBS[ref.kind]} "${spec}": ${rule}`;
}

/**
 * Checks every file under `src/` against the import boundaries. Files outside
 * `src/` are ignored. Returns violations at the specifier's line and column.
 */
export function checkBoundaries(
  files: readonly SourceFile[],
  options: BoundaryOptions = {},
): BoundaryReport {
  const violations: Violation[] = [];
  let scanned = 0;
  let workflowFiles = 0;
  let imports = 0;
  for (const file of files) {
    if (!file.path.startsWith("src/")) continue;
    scanned++;
    const isWorkflow = file.path.startsWith(WORKFLOWS_DIR);
    if (isWorkflow) workflowFiles++;
    const tokens = tokenize(file.text);
    for (const ref of findImports(tokens)) {
      imports++;
      const problem = aiBoundaryProblem(ref, file, options) ??
        (isWorkflow ? workflowProblem(ref, file, options) : undefined);
      if (problem !== undefined) {
        violations.push({ path: file.path, line: ref.line, col: ref.col, message: problem });
      }
    }
    if (!isWorkflow) continue;
    for (const use of findGlobalUses(tokens, "Deno")) {
      violations.push({
        path: file.path,
        line: use.line,
        col: use.col,
        message: "workflow code uses the Deno global: workflows must be deterministic and do " +
          "no I/O; move the work into an activity",
      });
    }
  }
  violations.sort((a, b) =>
    a.path.localeCompare(b.path) || (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0)
  );
  return { violations, files: scanned, workflowFiles, imports };
}
