/**
 * `deno task bundle`: builds the workflow bundle the worker loads
 * (`.data/workflow-bundle/`) when it is missing or stale; `--check` only
 * says whether it is fresh; `--force` rebuilds it anyway.
 *
 * Exit codes: 0 built or fresh, 1 stale or missing (`--check`), 2 bad usage
 * or a failed build.
 *
 * @module
 */
import { parseCommandLine } from "./_args.ts";
import { createLogger } from "../telemetry/log.ts";
import { buildWorkflowBundle } from "../workflow_bundle/build.ts";
import { BUNDLE_DIR, checkWorkflowBundle } from "../workflow_bundle/mod.ts";

const HELP = `Usage: deno task bundle [--check | --force]

Bundles src/workflows/mod.ts with webpack (as the Temporal SDK's
bundleWorkflowCode does) into .data/workflow-bundle/, beside a manifest with
the sha256 of every source file it read and the npm packages it read from. The
worker loads that bundle and refuses to start when it is missing or stale.
Does nothing when the bundle is fresh.

Options:
  --check     build nothing; exit 1 when the bundle is missing or stale
  --force     rebuild even when the bundle is fresh
  -h, --help  show this help

Exit codes: 0 built or fresh, 1 missing or stale (--check), 2 bad usage or a
failed build.`;

async function main(args: string[]): Promise<number> {
  const line = parseCommandLine(args, {
    name: "bundle",
    help: HELP,
    options: { check: { type: "boolean" }, force: { type: "boolean" } },
  });
  if ("exit" in line) return line.exit;
  const values = line.values as { check?: boolean; force?: boolean };
  if (values.check && values.force) {
    console.error("bundle: --check and --force exclude each other");
    return 2;
  }
  const state = await checkWorkflowBundle();
  if (state.fresh && !values.force) {
    console.log(`bundle: ${state.codePath} is fresh (built ${state.manifest.builtAt})`);
    return 0;
  }
  if (!state.fresh && values.check) {
    console.error(`bundle: the workflow bundle is stale: ${state.reason}`);
    return 1;
  }
  const started = performance.now();
  const log = createLogger({ level: "warn", service: "keel-bundle" });
  const manifest = await buildWorkflowBundle(log);
  console.log(
    `bundle: built ${new URL(manifest.bundle, BUNDLE_DIR).pathname} from ${
      Object.keys(manifest.files).length
    } source files in ${Math.round(performance.now() - started)} ms${
      state.fresh ? "" : ` (${state.reason})`
    }`,
  );
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`bundle: ${(error as Error).message}`);
    Deno.exit(2);
  }
}
