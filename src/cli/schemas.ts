/**
 * `deno task schemas`: writes the JSON Schema of the directive contract to
 * `docs/schemas/directive.schema.json`; `--check` only compares.
 *
 * Exit codes: 0 written (or fresh), 1 the committed file is stale or missing
 * (`--check`), 2 bad usage or an I/O problem.
 *
 * @module
 */
import { parseCommandLine } from "./_args.ts";
import { posix } from "node:path";
import { BUILTIN_MODULES, createRegistry } from "../execution/registry.ts";
import { DIRECTIVE_SCHEMA_PATH, directiveJsonSchemaText } from "../models/directive_json_schema.ts";

const HELP = `Usage: deno task schemas [--check] [--root DIR]

Generates the JSON Schema (draft 2020-12) of the directive contract from the
zod schema in src/models/directive.ts, over the registered module types, and
writes it to DIR/${DIRECTIVE_SCHEMA_PATH} (2-space JSON and a newline).

Options:
  --check     write nothing; exit 1 if the committed file differs from the
              generated schema (or is missing)
  --root DIR  the repository root (default: .); the task's permission set only
              covers ./docs/schemas, so another root needs its own
              --allow-read/--allow-write
  -h, --help  show this help

Exit codes: 0 written or fresh, 1 stale or missing (--check), 2 bad usage or an
I/O problem.`;

async function readOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

async function main(args: string[]): Promise<number> {
  const line = parseCommandLine(args, {
    name: "schemas",
    help: HELP,
    options: {
      check: { type: "boolean" },
      root: { type: "string" },
    },
  });
  if ("exit" in line) return line.exit;
  const values = line.values as { check?: boolean; root?: string };
  const path = posix.join(values.root ?? ".", DIRECTIVE_SCHEMA_PATH);
  const text = directiveJsonSchemaText(createRegistry(BUILTIN_MODULES).types());
  const committed = await readOrUndefined(path);
  if (values.check) {
    if (committed === text) {
      console.log(`schemas: ${path} is fresh`);
      return 0;
    }
    console.error(
      `schemas: ${path} is ${
        committed === undefined ? "missing" : "stale: it differs from the zod contract"
      }; run \`deno task schemas\` and commit the result`,
    );
    return 1;
  }
  if (committed === text) {
    console.log(`schemas: ${path} is already up to date (${text.length} bytes)`);
    return 0;
  }
  await Deno.mkdir(posix.dirname(path), { recursive: true });
  await Deno.writeTextFile(path, text);
  console.log(`schemas: wrote ${path} (${text.length} bytes)`);
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`schemas: ${(error as Error).message}`);
    Deno.exit(2);
  }
}
