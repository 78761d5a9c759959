/**
 * Check 8, the configuration's documents: `.env.example` and
 * `docs/configuration.md` equal what `deno task env:example` generates from
 * the sections in `src/config/`, and every variable a table in another
 * `docs/*.md` file names is declared there, with the declared default when the
 * table has a Default column. Each violation names the variable.
 *
 * @module
 */
import { posix } from "node:path";
import type { EnvSection } from "../config/_env.ts";
import {
  CONFIG_DOC_PATH,
  configDocText,
  driftOf,
  ENV_EXAMPLE_PATH,
  envExampleText,
  type ExampleSection,
} from "../config/env_example.ts";
import { readOptionalText } from "./source_files.ts";
import type { Violation } from "./violation.ts";

/** What {@linkcode checkEnvDocs} found. */
export interface EnvDocsReport {
  /** Variables declared. */
  readonly variables: number;
  /** Rows of other docs tables checked. */
  readonly rows: number;
  /** Every difference, naming its variable. */
  readonly violations: Violation[];
}

/** A Markdown file's path and text. */
export interface DocFile {
  /** Relative to the root. */
  readonly path: string;
  /** Its text. */
  readonly text: string;
}

function cells(line: string): string[] {
  return line.replace(/^\|/, "").replace(/\|\s*$/, "").split("|").map((c) => c.trim());
}

/** Rows of `docs` tables whose first cell names variables, against the declared ones. Pure. */
export function checkDocTables(
  docs: readonly DocFile[],
  sections: readonly EnvSection[],
): { rows: number; violations: Violation[] } {
  const declared = new Map(sections.flatMap((s) => Object.entries(s.vars)));
  const violations: Violation[] = [];
  let rows = 0;
  for (const doc of docs) {
    let defaultColumn = false;
    doc.text.split("\n").forEach((line, index) => {
      if (!line.startsWith("|")) {
        defaultColumn = false;
        return;
      }
      const row = cells(line);
      if (!row[0]?.startsWith("`")) {
        defaultColumn = defaultColumn || row[1]?.toLowerCase() === "default";
        return;
      }
      const names = [...row[0].matchAll(/`([A-Z][A-Z0-9_]{3,})`/g)].map((m) => m[1] ?? "");
      for (const name of names) {
        rows++;
        const at = { path: doc.path, line: index + 1, col: line.indexOf(name) + 1 };
        const v = declared.get(name);
        if (v === undefined) {
          violations.push({ ...at, message: `${name} is not declared in src/config/` });
          continue;
        }
        const shown = /^`([^`]*)`$/.exec(row[1] ?? "")?.[1];
        if (
          defaultColumn && shown !== undefined && v.default !== undefined && shown !== v.default
        ) {
          violations.push({
            ...at,
            message: `${name}: the table says its default is "${shown}", src/config/ says ` +
              `"${v.default}"`,
          });
        }
      }
    });
  }
  return { rows, violations };
}

/** Compares the generated documents with the committed ones (undefined: missing). Pure. */
export function checkEnvDocs(
  committed: { readonly envExample?: string; readonly configDoc?: string },
  sections: readonly ExampleSection[],
  docs: readonly DocFile[],
): EnvDocsReport {
  const violations: Violation[] = [];
  const hint = "; run `deno task env:example` and commit the result";
  for (
    const [path, text, kind, generated] of [
      [ENV_EXAMPLE_PATH, committed.envExample, "env", envExampleText(sections)],
      [CONFIG_DOC_PATH, committed.configDoc, "doc", configDocText(sections)],
    ] as const
  ) {
    for (const drift of driftOf(text ?? "", generated, kind)) {
      violations.push({
        path,
        ...(drift.line === undefined ? {} : { line: drift.line, col: 1 }),
        message: drift.message + hint,
      });
    }
  }
  const tables = checkDocTables(docs, sections.map((s) => s.section));
  violations.push(...tables.violations);
  return {
    variables: sections.reduce((n, s) => n + Object.keys(s.section.vars).length, 0),
    rows: tables.rows,
    violations,
  };
}

/** Reads the `.md` files directly under `<root>/docs` but the generated one. */
export async function readDocFiles(root: string): Promise<DocFile[]> {
  const files: DocFile[] = [];
  try {
    for await (const entry of Deno.readDir(posix.join(root, "docs"))) {
      const path = `docs/${entry.name}`;
      if (!entry.isFile || !entry.name.endsWith(".md") || path === CONFIG_DOC_PATH) continue;
      files.push({ path, text: await Deno.readTextFile(posix.join(root, path)) });
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

/** Reads the committed `.env.example` and `docs/configuration.md`. */
export async function readEnvDocs(
  root: string,
): Promise<{ envExample?: string; configDoc?: string }> {
  const envExample = await readOptionalText(root, ENV_EXAMPLE_PATH);
  const configDoc = await readOptionalText(root, CONFIG_DOC_PATH);
  return {
    ...(envExample === undefined ? {} : { envExample }),
    ...(configDoc === undefined ? {} : { configDoc }),
  };
}
