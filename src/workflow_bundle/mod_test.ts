import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { createLogger } from "../telemetry/log.ts";
import { buildWorkflowBundle, classifyInputs } from "./build.ts";
import {
  BUNDLE_OPTIONS_VERSION,
  type BundleManifest,
  checkWorkflowBundle,
  fingerprintOf,
  loadWorkflowBundle,
  lockedPackages,
  MANIFEST_NAME,
  sha256Hex,
  WorkflowBundleError,
} from "./mod.ts";

/** A repository of two source files and a lock, with a bundle built from them. */
async function fakeCheckout(): Promise<{ root: URL; dir: URL }> {
  const root = new URL(`file://${await Deno.makeTempDir({ prefix: "keel-bundle-" })}/`);
  const dir = new URL(".data/workflow-bundle/", root);
  await Deno.mkdir(new URL("src/", root), { recursive: true });
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(new URL("src/a.ts", root), "export const a = 1;\n");
  await Deno.writeTextFile(new URL("src/b.ts", root), "export const b = 2;\n");
  await Deno.writeTextFile(
    new URL("deno.lock", root),
    JSON.stringify({ npm: { "@temporalio/workflow@1.24.0": {}, "x@2.0.0_y@1.0.0": {} } }),
  );
  const files = {
    "src/a.ts": await sha256Hex("export const a = 1;\n"),
    "src/b.ts": await sha256Hex("export const b = 2;\n"),
  };
  const packages = ["@temporalio/workflow@1.24.0", "x@2.0.0"];
  const manifest: BundleManifest = {
    format: 1,
    optionsVersion: BUNDLE_OPTIONS_VERSION,
    builtAt: new Date().toISOString(),
    bundle: "workflows-0123456789abcdef.js",
    files,
    packages,
    fingerprint: await fingerprintOf(BUNDLE_OPTIONS_VERSION, files, packages),
  };
  await Deno.writeTextFile(new URL(manifest.bundle, dir), "/* code */");
  await Deno.writeTextFile(new URL(MANIFEST_NAME, dir), JSON.stringify(manifest));
  return { root, dir };
}

Deno.test("a bundle whose sources and packages are unchanged is fresh", async () => {
  const { root, dir } = await fakeCheckout();
  const state = await checkWorkflowBundle(dir, root);
  assert(state.fresh, JSON.stringify(state));
  assertEquals(
    await loadWorkflowBundle(dir, root),
    { codePath: new URL("workflows-0123456789abcdef.js", dir).pathname },
  );
});

Deno.test("a changed source makes the bundle stale, and the worker's loader names the command", async () => {
  const { root, dir } = await fakeCheckout();
  await Deno.writeTextFile(new URL("src/b.ts", root), "export const b = 3;\n");
  assertEquals(await checkWorkflowBundle(dir, root), {
    fresh: false,
    reason: `"src/b.ts" changed since it was built`,
  });
  const error = await assertRejects(() => loadWorkflowBundle(dir, root), WorkflowBundleError);
  assertStringIncludes(error.message, "deno task bundle");
  assertStringIncludes(error.message, `"src/b.ts" changed`);
});

Deno.test("a package deno.lock no longer resolves makes the bundle stale", async () => {
  const { root, dir } = await fakeCheckout();
  await Deno.writeTextFile(
    new URL("deno.lock", root),
    JSON.stringify({ npm: { "@temporalio/workflow@1.25.0": {}, "x@2.0.0": {} } }),
  );
  assertEquals(await checkWorkflowBundle(dir, root), {
    fresh: false,
    reason: `deno.lock no longer resolves "@temporalio/workflow@1.24.0"`,
  });
});

Deno.test("a missing manifest, source or code file, or a forged fingerprint, is not fresh", async () => {
  const { root, dir } = await fakeCheckout();
  await Deno.remove(new URL("src/a.ts", root));
  assertEquals(await checkWorkflowBundle(dir, root), {
    fresh: false,
    reason: `"src/a.ts", one of its sources, is gone`,
  });
  const other = await fakeCheckout();
  await Deno.remove(new URL("workflows-0123456789abcdef.js", other.dir));
  assertEquals(await checkWorkflowBundle(other.dir, other.root), {
    fresh: false,
    reason: `its code file "workflows-0123456789abcdef.js" is gone`,
  });
  const manifestPath = new URL(MANIFEST_NAME, other.dir);
  const manifest = JSON.parse(await Deno.readTextFile(manifestPath));
  await Deno.writeTextFile(manifestPath, JSON.stringify({ ...manifest, fingerprint: "0" }));
  assertEquals(await checkWorkflowBundle(other.dir, other.root), {
    fresh: false,
    reason: "its manifest's fingerprint does not match its inputs",
  });
  await Deno.remove(manifestPath);
  assertEquals(await checkWorkflowBundle(other.dir, other.root), {
    fresh: false,
    reason: "it has not been built",
  });
});

Deno.test("webpack's inputs split into local files and name@version packages", () => {
  const root = "/repo/";
  assertEquals(
    classifyInputs([
      "/repo/src/workflows/mod.ts",
      "/repo/src/workflows/mod.ts",
      "/repo/node_modules",
      "/repo/node_modules/.deno/@temporalio+workflow@1.24.0/node_modules/@temporalio/workflow/lib/index.js",
      "/repo/node_modules/.deno/ms@3.0.0-canary.1/node_modules/ms/index.js",
      "/repo/node_modules/.deno/x@2.0.0_y@1.0.0/node_modules/x/index.js",
      "/elsewhere/file.js",
    ], root),
    {
      local: ["src/workflows/mod.ts"],
      packages: ["@temporalio/workflow@1.24.0", "ms@3.0.0-canary.1", "x@2.0.0"],
    },
  );
  assertEquals(
    lockedPackages(JSON.stringify({ npm: { "a@1.0.0": {}, "b@2.0.0_c@1.0.0": {} } })),
    new Set(["a@1.0.0", "b@2.0.0"]),
  );
});

Deno.test({
  name: "a real build records the workflow sources and the SDK's packages, and is fresh",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = new URL(`file://${await Deno.makeTempDir({ prefix: "keel-bundle-" })}/`);
    const manifest = await buildWorkflowBundle(
      createLogger({ level: "warn", service: "test" }),
      dir,
    );
    assert("src/workflows/mod.ts" in manifest.files, Object.keys(manifest.files).join(", "));
    assert("src/workflows/tracing/interceptors.ts" in manifest.files);
    assert(Object.keys(manifest.files).every((path) => path.startsWith("src/")));
    assert(manifest.packages.some((name) => name.startsWith("@temporalio/workflow@")));
    assert(manifest.packages.some((name) => name.startsWith("@temporalio/worker@")));
    const state = await checkWorkflowBundle(dir);
    assert(state.fresh, JSON.stringify(state));
    assertStringIncludes(await Deno.readTextFile(state.codePath), "__TEMPORAL__");
    await Deno.remove(dir, { recursive: true });
  },
});
