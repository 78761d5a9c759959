/**
 * Reading the checked tree: the source files under `src/` and the import map.
 *
 * @module
 */
import { posix } from "node:path";
import type { SourceFile } from "./boundaries.ts";
import { ValidateError } from "./violation.ts";

/** File extensions that hold module code. */
const SOURCE_EXTENSIONS = /\.(?:[cm]?ts|tsx|[cm]?js|jsx)$/;

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Reads every source file under `<root>/<dir>`, recursively, with paths
 * relative to `root` and sorted. Symbolic links are not followed.
 */
export async function readSourceFiles(root: string, dir = "src"): Promise<SourceFile[]> {
  const files: SourceFile[] = [];
  async function walk(relative: string): Promise<void> {
    for await (const entry of Deno.readDir(posix.join(root, relative))) {
      const path = `${relative}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (entry.isFile && SOURCE_EXTENSIONS.test(entry.name)) {
        files.push({ path, text: await Deno.readTextFile(posix.join(root, path)) });
      }
    }
  }
  try {
    await walk(dir);
  } catch (cause) {
    throw new ValidateError(`Cannot read "${posix.join(root, dir)}": ${errorText(cause)}`, {
      cause,
    });
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * Reads the `imports` map of `<root>/deno.json`; empty when the file is
 * absent or is not plain JSON (deno.json may hold comments).
 */
export async function readImportMap(root: string): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await Deno.readTextFile(posix.join(root, "deno.json"));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return {};
    throw new ValidateError(`Cannot read "${posix.join(root, "deno.json")}": ${errorText(error)}`, {
      cause: error,
    });
  }
  try {
    const imports = (JSON.parse(text) as { imports?: unknown }).imports;
    if (typeof imports !== "object" || imports === null) return {};
    return Object.fromEntries(
      Object.entries(imports).filter((entry): entry is [string, string] =>
        typeof entry[1] === "string"
      ),
    );
  } catch {
    return {};
  }
}

/** Reads `<root>/<path>` as text; undefined when it does not exist. */
export async function readOptionalText(root: string, path: string): Promise<string | undefined> {
  const full = posix.join(root, path);
  try {
    return await Deno.readTextFile(full);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new ValidateError(
      `Cannot read "${full}": ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}
