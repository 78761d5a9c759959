/**
 * `deno task env:example`: writes `.env.example` and `docs/configuration.md`
 * from the configuration sections in `src/config/`; `--check` only compares.
 *
 * Exit codes: 0 written (or fresh), 1 a committed file differs (`--check`),
 * 2 bad usage or an I/O problem.
 *
 * @module
 */
import { parseCommandLine } from "./_args.ts";
import { EXAMPLE_SECTIONS } from "../config/mod.ts";
import {
  CONFIG_DOC_PATH,
  configDocText,
  driftOf,
  ENV_EXAMPLE_PATH,
  envExampleText,
} from "../config/env_example.ts";

const HELP = `Usage: deno task env:example [--check]

Writes ${ENV_EXAMPLE_PATH} and ${CONFIG_DOC_PATH} from the configuration
sections declared in src/config/ (each variable's name, default and
description).

Options:
  --check     write nothing; exit 1 naming each variable a committed file
              shows differently (or misses, or names without declaring)
  -h, --help  show this help

Exit codes: 0 written or fresh, 1 a file differs (--check), 2 bad usage or an
I/O problem.`;

async function readOrEmpty(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "";
    throw error;
  }
}

async function main(args: string[]): Promise<number> {
  const line = parseCommandLine(args, {
    name: "env:example",
    help: HELP,
    options: { check: { type: "boolean" } },
  });
  if ("exit" in line) return line.exit;
  const check = (line.values as { check?: boolean }).check === true;
  let stale = 0;
  for (
    const [path, text, kind] of [
      [ENV_EXAMPLE_PATH, envExampleText(EXAMPLE_SECTIONS), "env"],
      [CONFIG_DOC_PATH, configDocText(EXAMPLE_SECTIONS), "doc"],
    ] as const
  ) {
    const committed = await readOrEmpty(path);
    if (committed === text) {
      console.log(`env:example: ${path} is up to date`);
    } else if (check) {
      stale++;
      for (const drift of driftOf(committed, text, kind)) {
        console.error(`${path}${drift.line ? `:${drift.line}` : ""}: ${drift.message}`);
      }
    } else {
      await Deno.writeTextFile(path, text);
      console.log(`env:example: wrote ${path}`);
    }
  }
  if (stale > 0) console.error("env:example: run `deno task env:example` and commit the result");
  return stale > 0 ? 1 : 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`env:example: ${(error as Error).message}`);
    Deno.exit(2);
  }
}
