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
import { freePort } from "./_temporal.ts";

const repo = new URL("..", import.meta.url).pathname;
const READY = "press Ctrl-C to stop";

async function run(
  cmd: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string> },
) {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: options.cwd,
    clearEnv: options.env !== undefined,
    ...(options.env ? { env: options.env } : {}),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`running ${cmd} ${args.join(" ")} failed: ${text}`);
  return text;
}

/** Copies tracked and untracked non-ignored files: a clone misses uncommitted work. */
async function copyCheckout(into: string): Promise<void> {
  const list = await run("git", ["ls-files", "-co", "--exclude-standard", "-z"], { cwd: repo });
  for (const file of list.split("\0").filter((f) => f.length > 0)) {
    const target = `${into}/${file}`;
    await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
    try {
      await Deno.copyFile(`${repo}${file}`, target);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error; // deleted, not yet committed
    }
  }
  // node_modules is not copied: dev.sh runs `deno install --frozen`, as a fresh clone would.
}

/** The system's PATH: what a new terminal has before the README's steps. */
const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * Processes (other than the lister) whose working directory or command line
 * is inside `dir`. Deno may not list /proc itself, so bash does; a process
 * that exits while it is being looked at is simply not one: the lister's
 * stderr goes nowhere and only its `pid: command` lines on stdout count.
 */
async function processesIn(dir: string): Promise<string[]> {
  const script = `exec 2>/dev/null
  for p in /proc/[0-9]*; do
    [ "\${p#/proc/}" = "$$" ] && continue
    c=$(tr '\\0' ' ' <"$p/cmdline") || continue
    [ -n "$c" ] || continue
    w=$(readlink "$p/cwd") || w=""
    case "$w $c" in *"$1"*) echo "\${p#/proc/}: $c";; esac
  done`;
  const out = await new Deno.Command("bash", {
    args: ["-c", script, "processes_in", dir],
    cwd: "/",
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter((line) =>
    /^\d+: /.test(line) && !line.includes("processes_in")
  );
}

/**
 * Waits until no process is left in `dir`: a child that was signalled may
 * still be exiting when dev.sh returns (its parent reaps it). Returns what is
 * left after `ms`, which the test expects to be nothing.
 */
async function leftoverProcesses(dir: string, ms = 15_000): Promise<string[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = await processesIn(dir);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

type Instance = {
  child: Deno.ChildProcess;
  output: () => string;
  stop: () => Promise<Deno.CommandStatus>;
};

async function startDev(dir: string, env: Record<string, string>): Promise<Instance> {
  const child = new Deno.Command("bash", {
    args: ["scripts/dev.sh"],
    cwd: dir,
    clearEnv: true,
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const pump = (stream: ReadableStream<Uint8Array>) =>
    stream.pipeTo(new WritableStream({ write: (chunk) => void (text += decoder.decode(chunk)) }));
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  let exited = false;
  child.status.then(() => exited = true);
  const deadline = Date.now() + 120_000;
  while (!text.includes(READY)) {
    if (exited || Date.now() > deadline) {
      if (!exited) child.kill("SIGKILL");
      await pumps;
      throw new Error(`scripts/dev.sh did not get ready (exited: ${exited}):\n${text}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    child,
    output: () => text,
    stop: async () => {
      child.kill("SIGINT");
      const status = await child.status;
      await pumps;
      return status;
    },
  };
}

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
