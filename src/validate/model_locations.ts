/**
 * Where each table's model is written, so schema-drift messages can point at
 * the model file and the field's line. Best effort, read from the source text
 * of `src/models/`: `tables.ts` maps a table to a row schema, its import names
 * the file, and the file holds `export const Schema = …` with one `field:` per
 * line. Anything not found falls back to `src/models/tables.ts`.
 *
 * @module
 */
import { posix } from "node:path";
import type { SourceFile } from "./boundaries.ts";

/** A place in a file; `line` and `col` are 1-based and present together. */
export interface Location {
  /** Path relative to the checked root. */
  readonly path: string;
  /** 1-based line, when known. */
  readonly line?: number;
  /** 1-based column, when known. */
  readonly col?: number;
}

/** Finds the model of a table, or of one of its columns. */
export type ModelLocator = (table: string, column?: string) => Location;

/** The registry of tables, where every table without a model should be added. */
export const TABLES_FILE = "src/models/tables.ts";

function positionOf(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, col: offset - before.lastIndexOf("\n") };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Reads the model locations from the files of `src/models/`. Pure. */
export function locateModels(files: readonly SourceFile[]): ModelLocator {
  const byPath = new Map(files.map((file) => [file.path, file.text]));
  const tables = byPath.get(TABLES_FILE) ?? "";
  const schemaOf = new Map<string, string>();
  for (const match of tables.matchAll(/^\s*(\w+)\s*:\s*\{\s*row\s*:\s*([\w$]+)/gm)) {
    schemaOf.set(match[1] as string, match[2] as string);
  }
  const fileOf = new Map<string, string>();
  for (const match of tables.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*"([^"]+)"/g)) {
    const path = posix.normalize(posix.join(posix.dirname(TABLES_FILE), match[2] as string));
    for (const name of (match[1] as string).split(",")) {
      fileOf.set(name.replace(/^\s*type\s+/, "").trim(), path);
    }
  }

  return (table, column) => {
    const schema = schemaOf.get(table);
    const path = schema === undefined ? undefined : fileOf.get(schema);
    const text = path === undefined ? undefined : byPath.get(path);
    if (schema === undefined || path === undefined || text === undefined) {
      return { path: TABLES_FILE };
    }
    const definition = new RegExp(`^export const ${escapeRegExp(schema)}\\b`, "m").exec(text);
    if (!definition) return { path };
    const at = positionOf(text, definition.index);
    if (column === undefined) return { path, ...at };
    const end = text.indexOf("\nexport ", definition.index + 1);
    const body = text.slice(definition.index, end === -1 ? text.length : end);
    const field = new RegExp(`^(\\s+)${escapeRegExp(column)}\\s*:`, "m").exec(body);
    if (!field) return { path, ...at };
    return { path, ...positionOf(text, definition.index + field.index + (field[1]?.length ?? 0)) };
  };
}
