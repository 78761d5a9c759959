/**
 * `deno task permissions <worker|server|prune>`: prints the `--allow-read`,
 * `--allow-write` and `--allow-net` flags that, added after `-P=<set>`, let the
 * process serve the current configuration (an artifact directory outside the
 * checkout, an S3 endpoint, a remote database or Temporal...). Prints an empty
 * nothing when the set already covers it. scripts/dev.sh starts the worker with
 * them. See docs/decisions/0022.
 *
 * Exit codes: 0 printed, 2 bad usage or configuration.
 *
 * @module
 */
import { ConfigError, readEnv } from "../config/mod.ts";
import { permissionFlags, type PermissionLists } from "../config/permissions.ts";
import {
  CONFIGURED_PROCESSES,
  type ConfiguredProcess,
  NEEDS_ENV,
  needsOf,
} from "../config/process_needs.ts";

const HELP = `Usage: deno task permissions <${CONFIGURED_PROCESSES.join("|")}>

Prints the --allow-read, --allow-write and --allow-net flags the process needs
on top of its permission set in deno.json for the current configuration
(KEEL_ARTIFACT_DIR, KEEL_S3_ENDPOINT, DATABASE_URL, TEMPORAL_ADDRESS,
OTEL_EXPORTER_OTLP_ENDPOINT, provider base URLs). A flag replaces the set's list
of its kind, so each printed flag repeats the set's list plus what is needed:

  deno run -P=worker $(deno task --quiet permissions worker) src/worker.ts

One flag per line; nothing when the set already covers the configuration.

Exit codes: 0 printed, 2 bad usage or configuration.`;

async function main(args: string[]): Promise<number> {
  if (args.includes("-h") || args.includes("--help")) {
    console.log(HELP);
    return 0;
  }
  const process = args[0] as ConfiguredProcess | undefined;
  if (args.length !== 1 || !CONFIGURED_PROCESSES.includes(process as never)) {
    console.error(
      `permissions: name one process: ${CONFIGURED_PROCESSES.join(", ")} (got ${
        JSON.stringify(args.join(" "))
      }); see --help`,
    );
    return 2;
  }
  const env = readEnv(NEEDS_ENV[process as ConfiguredProcess], (name) => Deno.env.get(name));
  const needs = needsOf(process as ConfiguredProcess, env);
  const config = JSON.parse(await Deno.readTextFile("deno.json"));
  const set = config.permissions?.[process as string] as PermissionLists | undefined;
  if (set === undefined) throw new ConfigError(`deno.json has no "${process}" permission set`);
  for (const flag of permissionFlags(set, needs)) console.log(flag);
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`permissions: ${(error as Error).message}`);
    Deno.exit(2);
  }
}
