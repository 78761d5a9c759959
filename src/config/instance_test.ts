import { assertEquals, assertRejects, assertStringIncludes, assertThrows } from "@std/assert";
import { ConfigError } from "./mod.ts";
import {
  describeInstance,
  INSTANCE_FILE,
  parseInstance,
  unreachableHint,
  withInstance,
} from "./instance.ts";

const NAMES = ["DATABASE_URL", "KEEL_DB_POOL_MAX", "TEMPORAL_ADDRESS", "KEEL_DECISION_KEY"];

async function checkout(instance: Record<string, unknown> | string | undefined) {
  const dir = await Deno.makeTempDir({ prefix: "keel_instance_test_" });
  await Deno.mkdir(`${dir}/.data`);
  const key = "k".repeat(64);
  await Deno.writeTextFile(`${dir}/.data/decision-key`, `${key}\n`);
  const document = {
    format: 1,
    started_by: "scripts/dev.sh",
    pid: 4242,
    started_at: "2026-12-02T08:00:00Z",
    root: dir,
    database_url: "postgres://keel_app@127.0.0.1:54329/keel",
    db_pool_max: 1,
    temporal_address: "127.0.0.1:7233",
    http_url: "http://127.0.0.1:8080",
    token_file: `${dir}/.data/dev-token`,
    decision_key_file: `${dir}/.data/decision-key`,
    artifact_dir: `${dir}/.data/artifacts`,
    policy_file: `${dir}/policies/default.json`,
    ...(typeof instance === "object" ? instance : {}),
  };
  if (instance !== undefined) {
    await Deno.writeTextFile(
      `${dir}/${INSTANCE_FILE}`,
      typeof instance === "string" ? instance : JSON.stringify(document),
    );
  }
  return { root: new URL(`file://${dir}/`), dir, key };
}

Deno.test("with nothing configured, the recorded instance fills the environment", async () => {
  const { root, dir, key } = await checkout({});
  try {
    const { env, instance } = await withInstance({ KEEL_ACTOR: "ops" }, {
      root,
      names: NAMES,
      decisionKey: true,
    });
    assertEquals(env, {
      KEEL_ACTOR: "ops",
      DATABASE_URL: "postgres://keel_app@127.0.0.1:54329/keel",
      KEEL_DB_POOL_MAX: "1",
      TEMPORAL_ADDRESS: "127.0.0.1:7233",
      KEEL_DECISION_KEY: key,
    });
    assertEquals(instance?.pid, 4242);
    assertEquals(
      describeInstance(instance!),
      "the dev instance in .data/instance.json (scripts/dev.sh pid 4242): " +
        "database 127.0.0.1:54329/keel, Temporal 127.0.0.1:7233",
    );
    assertStringIncludes(unreachableHint(instance), "the file is stale");
    // A variable that is set wins; the key is read only when asked for.
    const partial = await withInstance({ KEEL_DECISION_KEY: "x".repeat(40) }, {
      root,
      names: NAMES,
    });
    assertEquals(partial.env.KEEL_DECISION_KEY, "x".repeat(40));
    assertEquals((await withInstance({}, { root, names: NAMES })).env.KEEL_DECISION_KEY, undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an environment that names a deployment ignores the instance file", async () => {
  const { root, dir } = await checkout("not even JSON");
  try {
    for (const env of [{ DATABASE_URL: "postgres://a@b/c" }, { TEMPORAL_ADDRESS: "t:7233" }]) {
      const result = await withInstance(env, { root, names: NAMES, decisionKey: true });
      assertEquals(result, { env });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("no instance file: the environment as it is, and a hint to start one", async () => {
  const { root, dir } = await checkout(undefined);
  try {
    assertEquals(await withInstance({}, { root, names: NAMES }), { env: {} });
    assertStringIncludes(unreachableHint(undefined), "start one with `bash scripts/dev.sh`");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a malformed instance file is refused, naming the file, each field and its value", async () => {
  const error = assertThrows(
    () =>
      parseInstance(
        JSON.stringify({ format: 1, started_by: "scripts/dev.sh", pid: "x", extra: true }),
        "/repo/.data/instance.json",
      ),
    ConfigError,
  );
  assertStringIncludes(error.message, "Invalid instance file /repo/.data/instance.json");
  assertStringIncludes(error.message, 'pid="x": ');
  assertStringIncludes(error.message, "database_url: ");
  assertStringIncludes(error.message, "extra");
  assertThrows(() => parseInstance("{", "/repo/.data/instance.json"), ConfigError, "is not JSON");
  const { root, dir } = await checkout({ database_url: "mysql://x" });
  try {
    await assertRejects(
      () => withInstance({}, { root, names: NAMES }),
      ConfigError,
      'database_url="mysql://x": must be a postgres:// URL',
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a decision key file that cannot be read is named", async () => {
  const { root, dir } = await checkout({ decision_key_file: "/nonexistent/decision-key" });
  try {
    await assertRejects(
      () => withInstance({}, { root, names: NAMES, decisionKey: true }),
      ConfigError,
      'cannot read the decision key file "/nonexistent/decision-key"',
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
