/**
 * `deploy/postgres/init.sh` (the compose postgres service's init script) run
 * for real against a throwaway cluster whose TCP logins, except the
 * superuser's, need a SCRAM password: the roles get the passwords from the
 * environment, Temporal's role owns its databases, and nobody else connects
 * to them. Without a password the script stops before psql, naming it.
 *
 * @module
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import postgres from "postgres";
import { startPgCluster } from "./_pg_cluster.ts";
import { withSql } from "./_db.ts";

const SCRIPT = new URL("../deploy/postgres/init.sh", import.meta.url).pathname;

async function runInit(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  const output = await new Deno.Command("bash", {
    args: [SCRIPT],
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
}

/** Connects as `user` with `password` over TCP and returns the current user. */
async function loginAs(port: number, user: string, password: string, db: string): Promise<string> {
  const sql = postgres({
    host: "127.0.0.1",
    port,
    user,
    password,
    database: db,
    max: 1,
    connect_timeout: 10,
    onnotice: () => {},
  });
  try {
    const [row] = await sql<{ user: string }[]>`SELECT current_user AS user`;
    return row?.user ?? "";
  } finally {
    await sql.end();
  }
}

Deno.test("init.sh refuses to run without each password, naming the variable", async () => {
  const both = { KEEL_APP_PASSWORD: "a".repeat(24), TEMPORAL_DB_PASSWORD: "b".repeat(24) };
  for (const missing of Object.keys(both) as (keyof typeof both)[]) {
    const env: Record<string, string> = { ...both };
    delete env[missing];
    // Nothing listens on port 1: the script must stop before it reaches psql.
    const { code, stderr } = await runInit({ ...env, PGHOST: "127.0.0.1", PGPORT: "1" });
    assert(code !== 0, `init.sh without ${missing} exited 0`);
    assertStringIncludes(stderr, `set ${missing}`);
    assert(!/psql|connection/i.test(stderr), `init.sh reached psql without ${missing}: ${stderr}`);
  }
});

Deno.test("init.sh creates keel_app and temporal with the given passwords; temporal owns its databases", async () => {
  const cluster = await startPgCluster();
  const hbaDir = await Deno.makeTempDir({ prefix: "keel_hba_" });
  try {
    // Trust only the superuser; every other TCP login needs its SCRAM password.
    const hba = `${hbaDir}/pg_hba.conf`;
    await Deno.writeTextFile(
      hba,
      "local all postgres trust\nhost all postgres 127.0.0.1/32 trust\n" +
        "host all all 127.0.0.1/32 scram-sha-256\n",
    );
    await Deno.chmod(hbaDir, 0o755);
    await Deno.chmod(hba, 0o644);
    await withSql(cluster.adminUrl, async (sql) => {
      await sql.unsafe(`ALTER SYSTEM SET hba_file = '${hba}'`);
    });
    await cluster.crash();
    await cluster.start();

    const appPassword = crypto.randomUUID().replaceAll("-", "");
    const temporalPassword = crypto.randomUUID().replaceAll("-", "");
    const { code, stderr } = await runInit({
      KEEL_APP_PASSWORD: appPassword,
      TEMPORAL_DB_PASSWORD: temporalPassword,
      POSTGRES_USER: "postgres",
      PGHOST: "127.0.0.1",
      PGPORT: String(cluster.port),
    });
    assertEquals(code, 0, `init.sh failed: ${stderr}`);

    assertEquals(await loginAs(cluster.port, "keel_app", appPassword, "keel"), "keel_app");
    await assertRejects(
      () => loginAs(cluster.port, "keel_app", `${appPassword}x`, "keel"),
      Error,
      "password authentication failed",
    );
    for (const db of ["temporal", "temporal_visibility"]) {
      assertEquals(await loginAs(cluster.port, "temporal", temporalPassword, db), "temporal");
      await assertRejects(
        () => loginAs(cluster.port, "keel_app", appPassword, db),
        Error,
        "permission denied",
      );
    }

    await withSql(cluster.adminUrl, async (sql) => {
      const owners = await sql<{ datname: string; owner: string }[]>`
        SELECT datname, pg_get_userbyid(datdba) AS owner FROM pg_database
        WHERE datname IN ('keel', 'temporal', 'temporal_visibility') ORDER BY datname`;
      assertEquals(owners.map((r) => [r.datname, r.owner]), [
        ["keel", "postgres"],
        ["temporal", "temporal"],
        ["temporal_visibility", "temporal"],
      ]);
      const roles = await sql<
        { rolname: string; rolsuper: boolean; rolcreatedb: boolean; rolcreaterole: boolean }[]
      >`SELECT rolname, rolsuper, rolcreatedb, rolcreaterole FROM pg_roles
        WHERE rolname IN ('keel_app', 'temporal') ORDER BY rolname`;
      assertEquals([...roles], [
        { rolname: "keel_app", rolsuper: false, rolcreatedb: false, rolcreaterole: false },
        { rolname: "temporal", rolsuper: false, rolcreatedb: false, rolcreaterole: false },
      ]);
    });
  } finally {
    await cluster.destroy();
    await Deno.remove(hbaDir, { recursive: true });
  }
});
