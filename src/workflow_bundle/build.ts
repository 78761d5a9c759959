/**
 * Builds the workflow bundle with webpack (`bundleWorkflowCode`) and writes it
 * with its manifest into the bundle folder. Only the bundle task and the test
 * harness import this; the worker loads what it wrote.
 *
 * @module
 */
import { bundleWorkflowCode } from "@temporalio/worker";
import type { Logger } from "../telemetry/log.ts";
import { temporalLogger } from "../telemetry/temporal_log.ts";
import { WORKFLOW_TRACING_MODULE } from "../telemetry/temporal_tracing.ts";
import {
  BUNDLE_DIR,
  BUNDLE_OPTIONS_VERSION,
  type BundleManifest,
  checkWorkflowBundle,
  fingerprintOf,
  MANIFEST_NAME,
  REPO_ROOT,
  sha256Hex,
} from "./mod.ts";

/** The bundle's entry: every workflow the worker registers. */
export const WORKFLOWS_ENTRY: string = new URL("src/workflows/mod.ts", REPO_ROOT).pathname;

/**
 * An explicit bundle target stops webpack searching parent folders for a
 * browserslist file, which the read allow-list (the project folder) does not
 * cover.
 */
export function confineBundler<T extends { target?: unknown }>(config: T): T {
  return { ...config, target: "web" };
}

/** webpack's compiler, as far as the input recorder uses it. */
interface Compiler {
  hooks: {
    done: { tap(name: string, fn: (stats: { compilation: Compilation }) => void): void };
  };
}
interface Compilation {
  fileDependencies: Iterable<string>;
}

/** The local files and npm packages among the files webpack read. */
export function classifyInputs(
  paths: Iterable<string>,
  root: string,
): { local: string[]; packages: string[] } {
  const local = new Set<string>();
  const packages = new Set<string>();
  const store = `${root}node_modules/.deno/`;
  for (const path of paths) {
    if (path.startsWith(store)) {
      const dir = path.slice(store.length).split("/")[0] ?? "";
      // Deno names a package's folder `scope+name@version`, peers after "_".
      packages.add(dir.replace(/_.*$/, "").replace("+", "/"));
    } else if (path.startsWith(root) && !/^node_modules(\/|$)/.test(path.slice(root.length))) {
      local.add(path.slice(root.length));
    }
  }
  return { local: [...local].sort(), packages: [...packages].sort() };
}

/** Runs webpack over the workflows and returns the code and every file it read. */
async function bundleWithInputs(log: Logger): Promise<{ code: string; inputs: string[] }> {
  const inputs: string[] = [];
  const recordInputs = {
    apply(compiler: Compiler) {
      compiler.hooks.done.tap("keel-bundle-inputs", (stats) => {
        inputs.push(...stats.compilation.fileDependencies);
      });
    },
  };
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_ENTRY,
    workflowInterceptorModules: [WORKFLOW_TRACING_MODULE],
    webpackConfigHook: (config) => {
      const confined = confineBundler(config);
      // The SDK needs an inline source map (stack traces map through it), but
      // reads the sources in it only with showStackTraceSources, which the
      // worker leaves off: without them the bundle is half the size.
      return {
        ...confined,
        devtool: "inline-nosources-source-map",
        plugins: [...(confined.plugins ?? []), recordInputs],
      };
    },
    // webpack's statistics go to the debug level; its warnings and errors stay visible.
    logger: temporalLogger({ ...log, info: log.debug }),
  });
  return { code, inputs };
}

async function writeAtomically(path: URL, data: string): Promise<void> {
  const temporary = new URL(`${path.href}.${crypto.randomUUID()}.tmp`);
  await Deno.writeTextFile(temporary, data);
  await Deno.rename(temporary, path);
}

/**
 * Bundles the workflows into `dir`: the code under a name from its hash, then
 * the manifest (renamed into place last, so a reader sees the old bundle or
 * the new one whole). Code files of earlier builds are removed.
 */
export async function buildWorkflowBundle(
  log: Logger,
  dir: URL = BUNDLE_DIR,
): Promise<BundleManifest> {
  const { code, inputs } = await bundleWithInputs(log);
  const { local, packages } = classifyInputs(inputs, REPO_ROOT.pathname);
  // The bundler and the runtime that loads the bundle come with the worker package.
  const worker = await Deno.readTextFile(
    new URL("node_modules/@temporalio/worker/package.json", REPO_ROOT),
  );
  packages.push(`@temporalio/worker@${JSON.parse(worker).version}`);
  packages.sort();
  const files: Record<string, string> = {};
  for (const path of local) {
    const url = new URL(path, REPO_ROOT);
    // webpack also records folders it looked into, and its generated entry,
    // which lives in its memory file system only.
    const info = await Deno.stat(url).catch((error) => {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    });
    if (info?.isFile) files[path] = await sha256Hex(await Deno.readFile(url));
  }
  await Deno.mkdir(dir, { recursive: true });
  const bundle = `workflows-${(await sha256Hex(code)).slice(0, 16)}.js`;
  await writeAtomically(new URL(bundle, dir), code);
  const manifest: BundleManifest = {
    format: 1,
    optionsVersion: BUNDLE_OPTIONS_VERSION,
    builtAt: new Date().toISOString(),
    bundle,
    files,
    packages,
    fingerprint: await fingerprintOf(BUNDLE_OPTIONS_VERSION, files, packages),
  };
  await writeAtomically(new URL(MANIFEST_NAME, dir), JSON.stringify(manifest, null, 2) + "\n");
  for await (const entry of Deno.readDir(dir)) {
    if (/^workflows-[0-9a-f]{16}\.js$/.test(entry.name) && entry.name !== bundle) {
      await Deno.remove(new URL(entry.name, dir)).catch(() => {});
    }
  }
  return manifest;
}

/** Builds the bundle when it is missing or stale; says which it was. */
export async function ensureWorkflowBundle(
  log: Logger,
  dir: URL = BUNDLE_DIR,
): Promise<{ built: boolean; reason?: string; manifest: BundleManifest }> {
  const state = await checkWorkflowBundle(dir);
  if (state.fresh) return { built: false, manifest: state.manifest };
  return { built: true, reason: state.reason, manifest: await buildWorkflowBundle(log, dir) };
}
