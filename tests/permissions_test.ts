/**
 * Permission proofs for `deno task migrate`: the migration CLI runs as a
 * subprocess with exactly the `migrate` permission set from deno.json, and
 * Deno itself refuses what falls outside it. A permission audit log of a
 * successful run shows that it touched nothing else.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { createTestDatabase, withSql } from "./_db.ts";

const REPO_ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the migrate CLI exactly as `deno task migrate` does, plus `args` and `env`. */
async function runMigrateTask(
  args: string[],
  env: Record<string, string>,
): Promise<RunResult> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-P=migrate", "src/cli/migrate.ts", ...args],
    cwd: REPO_ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

interface MigratePermissions {
  read: string[];
  env: string[];
  net: string[];
}

async function migratePermissions(): Promise<MigratePermissions> {
  const config = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}/deno.json`));
  const set = config.permissions?.migrate as MigratePermissions | undefined;
  assert(set, "deno.json has no `migrate` permission set");
  return set;
}

Deno.test("the migrate task's deno.json entry runs with the `migrate` permission set", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}/deno.json`));
  assertEquals(config.tasks?.migrate, "deno run --quiet -P=migrate src/cli/migrate.ts");
  const set = await migratePermissions();
  assertEquals(Object.keys(set).sort(), ["env", "net", "read"], "no write, run, ffi or sys");
});

Deno.test("the migrate task cannot read a folder outside its read allow-list", async () => {
  const result = await runMigrateTask(["--dir", "/etc"], {
    MIGRATION_DATABASE_URL: "postgres://postgres@127.0.0.1:5432/keel_never_used",
  });
  assertEquals(result.code, 1, result.stderr);
  assertStringIncludes(result.stderr, 'Requires read access to "/etc"');
  assertEquals(result.stdout, "");
});

Deno.test("the migrate task cannot reach a host outside its net allow-list, and never connects", async () => {
  // A listener on the forbidden host proves that no connection is even attempted.
  const listener = Deno.listen({ hostname: "127.0.0.2", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  let accepted = 0;
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        accepted++;
        conn.close();
      }
    } catch {
      // closed below
    }
  })();
  try {
    const result = await runMigrateTask([], {
      MIGRATION_DATABASE_URL: `postgres://postgres@127.0.0.2:${port}/x`,
    });
    assertEquals(result.code, 1, result.stderr);
    assertStringIncludes(result.stderr, `Requires net access to "127.0.0.2:${port}"`);
    assertEquals(result.stdout, "");
  } finally {
    listener.close();
    await accepting;
  }
  assertEquals(accepted, 0, "the migrate task connected to a host outside its allow-list");
});

interface AuditLine {
  v: number;
  datetime: string;
  permission: string;
  value: string | null;
}

function underAny(path: string, roots: readonly string[]): boolean {
  return roots.some((root) => path === root || path.startsWith(`${root}/`));
}

Deno.test("a successful migrate run touches only ./migrations, the configured host and allow-listed env names", async () => {
  const db = await createTestDatabase("keel_perm");
  const auditFile = await Deno.makeTempFile({ prefix: "keel_audit_", suffix: ".jsonl" });
  try {
    const url = new URL(db.ownerUrl);
    const result = await runMigrateTask([], {
      MIGRATION_DATABASE_URL: db.ownerUrl,
      DENO_AUDIT_PERMISSIONS: auditFile,
    });
    assertEquals(result.code, 0, result.stderr);
    assertStringIncludes(result.stdout, "applied 0001_initial.sql");

    await withSql(db.ownerUrl, async (sql) => {
      const rows = await sql<{ filename: string }[]>`SELECT filename FROM schema_migrations`;
      assert(rows.some((r) => r.filename === "0001_initial.sql"), "the run applied nothing");
    });

    const lines: AuditLine[] = (await Deno.readTextFile(auditFile))
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line));
    assert(lines.length > 0, "the audit log is empty: DENO_AUDIT_PERMISSIONS was not honoured");

    const byKind = Map.groupBy(lines, (line) => line.permission);
    assertEquals(
      [...byKind.keys()].sort(),
      ["env", "net", "read"],
      "only read, net and env are checked",
    );

    // read: only the migrations folder (and, if Deno records them, node_modules and its cache).
    const denoDir = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;
    const readRoots = [`${REPO_ROOT}/migrations`, `${REPO_ROOT}/node_modules`, denoDir];
    const reads = (byKind.get("read") ?? []).map((line) => {
      assert(line.value, "a read check without a path");
      return line.value.startsWith("/") ? line.value : `${REPO_ROOT}/${line.value}`;
    });
    assertEquals(
      reads.filter((path) => !underAny(path, readRoots)),
      [],
      "reads outside allow-list",
    );
    assert(reads.includes(`${REPO_ROOT}/migrations/0001_initial.sql`), JSON.stringify(reads));

    // net: only the configured database host and port.
    const nets = new Set((byKind.get("net") ?? []).map((line) => line.value));
    assertEquals([...nets], [`${url.hostname}:${url.port}`]);

    // env: only names the permission set allows (exact names, or `PG*` prefixes).
    const allowed = (await migratePermissions()).env;
    const permits = (name: string) =>
      allowed.some((pattern) =>
        pattern.endsWith("*") ? name.startsWith(pattern.slice(0, -1)) : name === pattern
      );
    const names = [...new Set((byKind.get("env") ?? []).map((line) => line.value ?? ""))];
    assertEquals(names.filter((name) => !permits(name)), [], "env names outside allow-list");
    assert(names.includes("MIGRATION_DATABASE_URL"), JSON.stringify(names));
  } finally {
    await Deno.remove(auditFile);
    await db.drop();
  }
});

// ---- every process's permission set: a file, a host and an env var it does not name ----

/** deno.json task → the permission set its process runs with. */
const PROCESS_SETS: Readonly<Record<string, string>> = {
  worker: "worker",
  bundle: "bundle",
  migrate: "migrate",
  keel: "cli",
  prune: "prune",
  validate: "validate",
  audit: "audit",
  schemas: "schemas",
  serve: "serve",
  mcp: "mcp",
};

interface ProbeReport {
  read: string;
  net: string;
  env: Record<string, string>;
}

async function probe(set: string, args: string[]): Promise<ProbeReport> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", `-P=${set}`, "tests/fixtures/permission_probe.ts", ...args],
    cwd: REPO_ROOT,
    env: {
      KEEL_PERMISSION_PROBE_SECRET: "never-readable",
      DATABASE_URL: "postgres://x@127.0.0.1/x",
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  assertEquals(output.code, 0, `${set}: ${new TextDecoder().decode(output.stderr)}`);
  return JSON.parse(stdout);
}

Deno.test("every process is denied a file outside its paths, a host outside its list and an env var it does not name", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}/deno.json`));
  const sets = { ...PROCESS_SETS };
  // The HTTP server, once it exists, is held to the same proof.
  if (config.permissions?.server) sets.server = "server";
  for (const [task, set] of Object.entries(sets)) {
    if (task !== "server") {
      assertStringIncludes(config.tasks?.[task] ?? "", `-P=${set} `, `task ${task}`);
    }
    const permissions = config.permissions?.[set] as
      | { read?: string[] | boolean; env?: string[] | boolean }
      | undefined;
    assert(permissions, `deno.json has no "${set}" permission set`);
    assert(permissions.read !== true && permissions.env !== true, `${set} allows everything`);
    // A positive control: a name the set does allow must read as allowed.
    const named = Array.isArray(permissions.env)
      ? permissions.env.find((name) => !name.includes("*"))
      : undefined;
    const envNames = ["KEEL_PERMISSION_PROBE_SECRET", ...(named ? [named] : [])];
    // 192.0.2.1 is TEST-NET-1: on no allow-list, and never a real host.
    const report = await probe(set, ["/etc/hostname", "192.0.2.1:9", ...envNames]);
    assertEquals(report.read, "denied", `${set} read /etc/hostname`);
    assertEquals(report.net, "denied", `${set} connected to 192.0.2.1:9`);
    assertEquals(
      report.env.KEEL_PERMISSION_PROBE_SECRET,
      "denied",
      `${set} read an unnamed env var`,
    );
    if (named) assertEquals(report.env[named], "allowed", `${set}: control ${named}`);
  }
});

Deno.test("the MCP bridge an agent host runs cannot read the database URL or the decision key", async () => {
  const report = await probe("mcp", [
    "./.data/decision-key",
    "192.0.2.1:9",
    "DATABASE_URL",
    "KEEL_DECISION_KEY",
    "KEEL_API_TOKENS",
    "KEEL_MCP_TOKEN",
  ]);
  assertEquals(report.read, "denied");
  assertEquals(report.net, "denied");
  assertEquals(report.env, {
    DATABASE_URL: "denied",
    KEEL_DECISION_KEY: "denied",
    KEEL_API_TOKENS: "denied",
    KEEL_MCP_TOKEN: "allowed",
  });
});
