/**
 * The README's first command with nothing configured: a copy of the checkout,
 * `scripts/dev.sh` with only PATH and HOME, a directive submitted with
 * `bin/keel` (with only HOME and the system's PATH: the CLI finds the instance
 * dev.sh records in `.data/instance.json`), Ctrl-C (SIGINT) leaving no process
 * and no instance file behind, and a second run that still has the directive.
 *
 * @module
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { copyCheckout, exists, leftoverProcesses, run, startDev, SYSTEM_PATH } from "./_dev.ts";
import { freePort } from "./_temporal.ts";

const LOCAL_DBS = {
  postgres: { says: "project-local PostgreSQL in .data/pg", database: "keel", poolMax: {} },
  pglite: {
    says: "embedded PGlite with pgvector in .data/pglite",
    database: "postgres",
    poolMax: { KEEL_DB_POOL_MAX: "1" },
  },
} as const;

for (const [kind, local] of Object.entries(LOCAL_DBS)) {
  Deno.test(`zero-config run (${kind}): dev.sh with only PATH and HOME, Ctrl-C, restart keeps data`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "keel_zero_config_" });
    await Deno.chmod(dir, 0o755); // the local cluster runs as the postgres user when we are root
    const ports = { temporal: freePort(), ui: freePort(), pg: freePort(), http: freePort() };
    const env = {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? "/root",
      KEEL_TEMPORAL_PORT: String(ports.temporal),
      KEEL_TEMPORAL_UI_PORT: String(ports.ui),
      KEEL_PG_PORT: String(ports.pg),
      KEEL_HTTP_PORT: String(ports.http),
      KEEL_DEMO: "0",
      KEEL_LOCAL_DB: kind,
    };
    // A second terminal: HOME and the system's PATH; bin/keel finds Deno and the instance.
    const cliEnv = { PATH: SYSTEM_PATH, HOME: env.HOME };
    const using = `keel: using the dev instance in .data/instance.json (scripts/dev.sh pid `;
    const transcript: string[] = [];
    try {
      await copyCheckout(dir);
      const first = await startDev(dir, env);
      assertStringIncludes(first.output(), local.says);
      assertStringIncludes(first.output(), `Temporal UI: http://127.0.0.1:${ports.ui}`);
      const instance = JSON.parse(await Deno.readTextFile(`${dir}/.data/instance.json`));
      assertEquals(
        instance.database_url,
        `postgres://keel_app@127.0.0.1:${ports.pg}/${local.database}`,
      );
      assertEquals(instance.temporal_address, `127.0.0.1:${ports.temporal}`);
      assertEquals(instance.db_pool_max, "KEEL_DB_POOL_MAX" in local.poolMax ? 1 : undefined);
      assertEquals(instance.decision_key_file, `${dir}/.data/decision-key`);
      // From a folder inside the checkout, with a path relative to it.
      const submitted = await run(`${dir}/bin/keel`, [
        "submit",
        "directives/noop.json",
        "--detach",
      ], { cwd: `${dir}/examples`, env: cliEnv });
      const id = submitted.match(/[0-9a-f]{8}-[0-9a-f-]{27}/)?.[0];
      assert(id, `submit printed no directive id: ${submitted}`);
      assertStringIncludes(submitted, `${using}${instance.pid}): database 127.0.0.1:${ports.pg}/`);
      const firstStatus = await first.stop();
      transcript.push(first.output());
      // 130 is the shell's exit code for "stopped by SIGINT" after the trap ran.
      assert([0, 130].includes(firstStatus.code), `dev.sh exited with ${firstStatus.code}`);
      assertStringIncludes(first.output(), "keel: stopped");
      assertEquals(await leftoverProcesses(dir), []);
      assert(!await exists(`${dir}/.data/instance.json`), "a clean stop removes the instance file");

      const second = await startDev(dir, env);
      assert(
        !second.output().includes("creating a project-local"),
        "the second run recreated the cluster",
      );
      const listed = await run(`${dir}/bin/keel`, ["list"], { cwd: dir, env: cliEnv });
      await second.stop();
      transcript.push(second.output());
      assertStringIncludes(listed, id);
      assertEquals(await leftoverProcesses(dir), []);
    } finally {
      await Deno.writeTextFile(
        `${Deno.env.get("TMPDIR") ?? "/tmp"}/keel_zero_config_transcript_${kind}.txt`,
        transcript.join("\n----\n"),
      );
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  });
}
