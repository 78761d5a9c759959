/**
 * The workflow bundle built ahead of time (`deno task bundle`): webpack's
 * output for `src/workflows/mod.ts`, kept in a git-ignored folder beside a
 * manifest that fingerprints its inputs. The worker loads it by path and runs
 * no webpack; it refuses a bundle that is missing or older than its inputs.
 * This module only reads and checks: the builder is `./build.ts`.
 *
 * @module
 */

/** The repository's root. */
export const REPO_ROOT: URL = new URL("../../", import.meta.url);

/** The folder the bundle and its manifest are written to (under `.data/`, git-ignored). */
export const BUNDLE_DIR: URL = new URL(".data/workflow-bundle/", REPO_ROOT);

/** The manifest's file name in {@linkcode BUNDLE_DIR}. */
export const MANIFEST_NAME = "manifest.json";

/** The command that builds the bundle, as error messages name it. */
export const BUNDLE_COMMAND = "deno task bundle";

/**
 * Bumped when the bundler's options change (the entry, the interceptor
 * modules, the webpack hook): a bundle built with other options is stale.
 */
export const BUNDLE_OPTIONS_VERSION = 1;

/** What a build records about its inputs and output. */
export interface BundleManifest {
  /** The manifest's format. */
  readonly format: 1;
  /** {@linkcode BUNDLE_OPTIONS_VERSION} at build time. */
  readonly optionsVersion: number;
  /** When it was built (ISO 8601). */
  readonly builtAt: string;
  /** The bundle's file name in {@linkcode BUNDLE_DIR}. */
  readonly bundle: string;
  /** sha256 (hex) of every local source file webpack read, by path from the repository root. */
  readonly files: Readonly<Record<string, string>>;
  /** Every npm package webpack read from, as `name@version`, sorted. */
  readonly packages: readonly string[];
  /** sha256 over the options version, `files` and `packages`: the inputs' fingerprint. */
  readonly fingerprint: string;
}

/** Thrown when the prebuilt bundle is missing, unreadable or stale. */
export class WorkflowBundleError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "WorkflowBundleError";
  }
}

/** sha256 of bytes, hex. */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The fingerprint of a set of inputs: the same inputs always give the same string. */
export async function fingerprintOf(
  optionsVersion: number,
  files: Readonly<Record<string, string>>,
  packages: readonly string[],
): Promise<string> {
  const sortedFiles = Object.keys(files).sort().map((path) => [path, files[path]]);
  return await sha256Hex(
    JSON.stringify({ optionsVersion, files: sortedFiles, packages: [...packages].sort() }),
  );
}

/** The npm packages deno.lock resolves, as `name@version` (peer suffixes dropped). */
export function lockedPackages(lockText: string): Set<string> {
  const lock = JSON.parse(lockText) as { npm?: Record<string, unknown> };
  return new Set(Object.keys(lock.npm ?? {}).map((key) => key.replace(/_.*$/, "")));
}

/** The bundle's state: fresh (with its path), or why it cannot be used. */
export type BundleState =
  | { readonly fresh: true; readonly codePath: string; readonly manifest: BundleManifest }
  | { readonly fresh: false; readonly reason: string };

async function readManifest(dir: URL): Promise<BundleManifest | string> {
  let text: string;
  try {
    text = await Deno.readTextFile(new URL(MANIFEST_NAME, dir));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "it has not been built";
    throw error;
  }
  try {
    const manifest = JSON.parse(text) as BundleManifest;
    if (manifest.format !== 1 || typeof manifest.files !== "object") {
      return `its manifest has an unknown format "${String(manifest.format)}"`;
    }
    return manifest;
  } catch (cause) {
    return `its manifest is not JSON (${(cause as Error).message})`;
  }
}

/**
 * Checks the bundle in `dir` against the current sources and deno.lock:
 * fresh when every file it was built from has the same content, every
 * package it read is still the version deno.lock resolves, and the bundler's
 * options are the same. Reads the recorded files only, never runs webpack.
 */
export async function checkWorkflowBundle(
  dir: URL = BUNDLE_DIR,
  root: URL = REPO_ROOT,
): Promise<BundleState> {
  const manifest = await readManifest(dir);
  if (typeof manifest === "string") return { fresh: false, reason: manifest };
  if (manifest.optionsVersion !== BUNDLE_OPTIONS_VERSION) {
    return { fresh: false, reason: "it was built with other bundler options" };
  }
  const files: Record<string, string> = {};
  for (const path of Object.keys(manifest.files)) {
    try {
      files[path] = await sha256Hex(await Deno.readFile(new URL(path, root)));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      return { fresh: false, reason: `"${path}", one of its sources, is gone` };
    }
    if (files[path] !== manifest.files[path]) {
      return { fresh: false, reason: `"${path}" changed since it was built` };
    }
  }
  const locked = lockedPackages(await Deno.readTextFile(new URL("deno.lock", root)));
  const moved = manifest.packages.find((name) => !locked.has(name));
  if (moved !== undefined) {
    return { fresh: false, reason: `deno.lock no longer resolves "${moved}"` };
  }
  if (
    await fingerprintOf(manifest.optionsVersion, files, manifest.packages) !== manifest.fingerprint
  ) {
    return { fresh: false, reason: "its manifest's fingerprint does not match its inputs" };
  }
  const codePath = new URL(manifest.bundle, dir).pathname;
  try {
    await Deno.stat(codePath);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    return { fresh: false, reason: `its code file "${manifest.bundle}" is gone` };
  }
  return { fresh: true, codePath, manifest };
}

/**
 * The prebuilt bundle for `Worker.create({ workflowBundle })`, or a
 * {@linkcode WorkflowBundleError} naming the command that builds it.
 */
export async function loadWorkflowBundle(
  dir: URL = BUNDLE_DIR,
  root: URL = REPO_ROOT,
): Promise<{ codePath: string }> {
  const state = await checkWorkflowBundle(dir, root);
  if (!state.fresh) {
    throw new WorkflowBundleError(
      `The workflow bundle in "${dir.pathname}" cannot be used: ${state.reason}. ` +
        `Build it with \`${BUNDLE_COMMAND}\` (scripts/dev.sh and the test harness do).`,
    );
  }
  return { codePath: state.codePath };
}
