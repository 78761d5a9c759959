/**
 * The `keel` CLI, run as a subprocess exactly as `deno task keel` runs it
 * (`deno run -P=cli src/cli/keel.ts`, a cleared environment), against a real
 * Temporal dev server, a migrated database and an in-process worker.
 *
 * Set KEEL_CLI_TRANSCRIPT=<path> to append the full session's command lines
 * and their output to that file.
 */
import { TEST_DECISION_SECRET } from "./_decisions.ts";
import { hashToken } from "../src/auth/tokens.ts";
import { parseServerConfig } from "../src/config/mod.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { stringify } from "yaml";
import { directiveWorkflowId, statusQuery } from "../src/workflows/directive/api.ts";
import { echoDocument } from "./_directives.ts";
import { eventually, ledgerOf, type LoopHarness, runsOf, startLoopHarness } from "./_loop.ts";
import { freePort } from "./_temporal.ts";

const REPO_ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const SCRATCH = `${REPO_ROOT}/.data/test`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const COMMANDS = ["submit", "approve", "reject", "abort", "status", "list", "watch", "history"];

interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

interface RunOptions {
  /** Written to the CLI's stdin. */
  readonly stdin?: string;
  /** Overrides of the CLI's environment. */
  readonly env?: Record<string, string>;
  /** Append this run to KEEL_CLI_TRANSCRIPT when it is set. */
  readonly transcript?: boolean;
}

/** The CLI's environment for a harness: only what it is documented to read. */
function cliEnv(h: LoopHarness | undefined): Record<string, string> {
  const env: Record<string, string> = {
    NO_COLOR: "1",
    KEEL_ACTOR: "ops@example.com",
    KEEL_DECISION_KEY: TEST_DECISION_SECRET,
  };
  // Deno itself needs its cache (no network here); the CLI never reads these.
  for (const name of ["HOME", "DENO_DIR"]) {
    const value = Deno.env.get(name);
    if (value) env[name] = value;
  }
  if (h) {
    env.DATABASE_URL = h.db.appUrl;
    env.TEMPORAL_ADDRESS = h.server.address;
    env.TEMPORAL_TASK_QUEUE = h.target.taskQueue;
  }
  return env;
}

/** Runs `deno run -P=cli src/cli/keel.ts …args` as `deno task keel` does. */
async function keel(
  h: LoopHarness | undefined,
  args: string[],
  options: RunOptions = {},
): Promise<CliRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-P=cli", "src/cli/keel.ts", ...args],
    cwd: REPO_ROOT,
    clearEnv: true,
    env: { ...cliEnv(h), ...options.env },
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const output = await child.output();
  const decoder = new TextDecoder();
  const run = {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr)
      .split("\n")
      .filter((line) => !line.includes("Permissions in the config file is an experimental"))
      .join("\n"),
  };
  if (options.transcript) await appendTranscript(args, run, options.stdin);
  return run;
}

/** Appends one run to KEEL_CLI_TRANSCRIPT, if set: the command line and its output. */
async function appendTranscript(args: string[], run: CliRun, stdin?: string): Promise<void> {
  const path = Deno.env.get("KEEL_CLI_TRANSCRIPT");
  if (!path) return;
  const quoted = args.map((a) => (/^[\w./:@=-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`));
  const text = `$ deno task keel ${quoted.join(" ")}${stdin === undefined ? "" : " < -"}\n` +
    run.stdout + run.stderr.replace(/\n*$/, run.stderr.trim() === "" ? "" : "\n") +
    (run.code === 0 ? "" : `[exit ${run.code}]\n`);
  await Deno.writeTextFile(path, text, { append: true });
}

function noopDocument(payload: Record<string, unknown> = {}): Record<string, unknown> {
  return echoDocument({ type: "noop", budget: { amount: "0.50", currency: "USD" }, payload });
}

/** Writes a document under .data/test (inside the CLI's read allow-list). */
async function scratchFile(name: string, text: string): Promise<string> {
  await Deno.mkdir(SCRATCH, { recursive: true });
  const path = `${SCRATCH}/${crypto.randomUUID().slice(0, 8)}-${name}`;
  await Deno.writeTextFile(path, text);
  return path.slice(REPO_ROOT.length + 1);
}

async function directiveCount(h: LoopHarness): Promise<number> {
  const [row] = await h.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM directives`;
  return row?.n ?? -1;
}

async function awaitingApproval(h: LoopHarness, id: string): Promise<void> {
  const handle = h.client.workflow.getHandle(directiveWorkflowId(id));
  await eventually(
    async () => (await handle.query(statusQuery)).phase === "awaiting_approval",
    "the approval gate",
  );
}

async function submitDetached(h: LoopHarness, document: Record<string, unknown>) {
  const run = await keel(h, ["submit", "--detach", "-"], { stdin: JSON.stringify(document) });
  assertEquals(run.code, 0, run.stderr);
  const id = run.stdout.trim();
  assertMatch(id, UUID);
  return id;
}

function transitionLines(stdout: string): string[] {
  return stdout.split("\n").filter((line) => /^\d{4}-\d\d-\d\dT.*→/.test(line));
}

function harnessTest(
  name: string,
  fn: (h: LoopHarness, t: Deno.TestContext) => Promise<void>,
  options: Parameters<typeof startLoopHarness>[0] = {},
): void {
  Deno.test({
    name,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn(t) {
      const harness = await startLoopHarness(options);
      try {
        await fn(harness, t);
      } finally {
        await harness.stop();
      }
    },
  });
}

harnessTest("keel CLI against a running loop", async (h, t) => {
  await t.step(
    "a full session: submit --detach, list, status, approve, watch, history",
    async () => {
      const transcript = { transcript: true };
      const document = echoDocument({ payload: { message: "hello from the CLI" } });
      const file = await scratchFile("echo.yaml", stringify(document));
      try {
        const submitted = await keel(h, ["submit", "--detach", file], transcript);
        assertEquals(submitted.code, 0, submitted.stderr);
        const id = submitted.stdout.trim();
        assertMatch(id, UUID);
        assertStringIncludes(submitted.stderr, `submitted echo directive ${id}`);

        const list = await keel(h, ["list"], transcript);
        assertEquals(list.code, 0, list.stderr);
        assertMatch(list.stdout, /^ID\s+TYPE\s+STATUS/);
        assertMatch(list.stdout, new RegExp(`${id}\\s+echo\\s+proposed`));

        await awaitingApproval(h, id);
        const status = await keel(h, ["status", id], transcript);
        assertEquals(status.code, 0, status.stderr);
        assertStringIncludes(status.stdout, "status     proposed (version 2)");
        assertStringIncludes(status.stdout, "policy     ALLOW by rule ok (default@");
        assertStringIncludes(
          status.stdout,
          "grants     nothing (no net, files, env or processes)",
        );
        assertStringIncludes(status.stdout, "loop       awaiting_approval");

        const approved = await keel(h, ["approve", id, "--reason", "payload checked"], transcript);
        assertEquals(approved.code, 0, approved.stderr);
        assertStringIncludes(approved.stdout, `approved directive ${id} as ops@example.com`);

        const watched = await keel(h, ["watch", id], transcript);
        assertEquals(watched.code, 0, watched.stderr);
        assertEquals(transitionLines(watched.stdout).length, 5, watched.stdout);
        assertStringIncludes(watched.stdout, `directive ${id} ended complete`);

        const history = await keel(h, ["history", id], transcript);
        assertEquals(history.code, 0, history.stderr);
        const rows = history.stdout.trim().split("\n").slice(1);
        assertEquals(rows.length, 5, history.stdout);
        const approvedRow = rows.find((row) => row.includes("proposed → approved"));
        assertMatch(
          approvedRow ?? "",
          /proposed → approved\s+ops@example\.com\s+[0-9a-f]{12}\s+payload checked$/,
        );

        const final = await keel(h, ["status", id]);
        assertStringIncludes(final.stdout, "status     complete (version 5)");
        assertStringIncludes(final.stdout, "approval   approved by ops@example.com");
        assertMatch(final.stdout, /artifact\s+echo application\/json \d+ B sha256 [0-9a-f]{64}/);
        assertMatch(final.stdout, /evaluation \S+ score 1/);
      } finally {
        await Deno.remove(`${REPO_ROOT}/${file}`);
      }
    },
  );

  await t.step("submit - reads stdin and follows an auto-approved noop to completion", async () => {
    const run = await keel(h, ["submit", "-"], { stdin: JSON.stringify(noopDocument()) });
    assertEquals(run.code, 0, run.stderr);
    const id = run.stdout.split("\n")[0]!;
    assertMatch(id, UUID);
    const lines = transitionLines(run.stdout);
    assertEquals(lines.length, 5, run.stdout);
    assertMatch(lines[2]!, /proposed → approved\s+policy:default@\S+: auto-approved by policy/);
    assertStringIncludes(run.stdout, `directive ${id} ended complete (run 1 completed SUCCESS)`);
  });

  await t.step(
    "reject aborts; a repeat is idempotent; the opposite decision is refused",
    async () => {
      const id = await submitDetached(h, echoDocument());
      await awaitingApproval(h, id);
      const rejected = await keel(h, [
        "reject",
        id,
        "--reason",
        "out of scope",
        "--actor",
        "carol",
      ]);
      assertEquals(rejected.code, 0, rejected.stderr);
      assertStringIncludes(rejected.stdout, "rejected directive");
      await eventually(
        async () => (await ledgerOf(h.sql, id)).at(-1) === "proposed>aborted",
        "the rejection",
      );
      const [row] = await h.sql`SELECT actor FROM approvals WHERE directive_id = ${id}`;
      assertEquals(row?.actor, "carol");
      const again = await keel(h, ["reject", id, "--reason", "out of scope"]);
      assertEquals(again.code, 0, again.stderr);
      assertStringIncludes(again.stdout, "was already rejected by carol");
      const opposite = await keel(h, ["approve", id, "--reason", "changed my mind"]);
      assertEquals(opposite.code, 1, opposite.stdout);
      assertStringIncludes(opposite.stderr, "was already rejected");
      const watched = await keel(h, ["watch", id]);
      assertEquals(watched.code, 1, "a followed directive that ended aborted exits 1");
      assertStringIncludes(watched.stdout, "ended aborted");
    },
  );

  await t.step("abort during execution cancels the run; a second abort is refused", async () => {
    const id = await submitDetached(h, noopDocument({ sleep_ms: 60_000 }));
    await eventually(async () => (await runsOf(h.sql, id))[0]?.status === "running", "a run");
    const aborted = await keel(h, ["abort", id, "--reason", "changed my mind"]);
    assertEquals(aborted.code, 0, aborted.stderr);
    assertStringIncludes(aborted.stdout, `directive ${id} ended aborted (changed my mind)`);
    assertEquals((await runsOf(h.sql, id)).map((r) => r.status), ["canceled"]);
    const [row] = await h.sql`
      SELECT actor, reason FROM directive_transitions
       WHERE directive_id = ${id} AND to_status = 'aborted'`;
    assertEquals({ ...row }, { actor: "ops@example.com", reason: "changed my mind" });
    const again = await keel(h, ["abort", id, "--reason", "again"]);
    assertEquals(again.code, 1);
    assertStringIncludes(again.stderr, "has already ended aborted");
  });

  await t.step("--json output parses on every command", async () => {
    const follow = await keel(h, ["submit", "--json", "-"], {
      stdin: JSON.stringify(noopDocument()),
    });
    assertEquals(follow.code, 0, follow.stderr);
    const events = follow.stdout.trim().split("\n").map((line) => JSON.parse(line));
    assertEquals(events[0].event, "submitted");
    assertEquals(events.filter((e) => e.event === "transition").length, 5);
    assertEquals(events.at(-1).event, "result");
    assertEquals(events.at(-1).status, "complete");
    const id = events[0].id as string;
    const status = JSON.parse((await keel(h, ["status", id, "--json"])).stdout);
    assertEquals([status.directive.status, status.policy[0].verdict], ["complete", "ALLOW"]);
    assertEquals(status.policy[0].granted_permissions, {});
    assertEquals(status.runs[0].outcome, "SUCCESS");
    const history = JSON.parse((await keel(h, ["--json", "history", id])).stdout);
    assertEquals(history.transitions.length, 5);
    assertMatch(history.transitions[0].hash, /^[0-9a-f]{64}$/);
    const list = JSON.parse(
      (await keel(h, ["list", "--json", "--type", "noop", "--limit", "2"])).stdout,
    );
    assertEquals(list.directives.length, 2);
    assertEquals(list.directives[0].id, id, "newest first");
    const missing = await keel(h, ["status", crypto.randomUUID(), "--json"]);
    assertEquals(missing.code, 3);
    assertEquals(JSON.parse(missing.stdout).error.kind, "not_found");
  });

  await t.step("an invalid directive exits 4 naming each field, and stores nothing", async () => {
    const before = await directiveCount(h);
    const bad = echoDocument({ type: "teleport", budget: { amount: "-1", currency: "usd" } });
    delete bad.issued_by;
    const file = await scratchFile("bad.json", JSON.stringify(bad));
    try {
      const run = await keel(h, ["submit", file]);
      assertEquals(run.code, 4, run.stderr);
      assertStringIncludes(run.stderr, "keel submit: the directive is invalid");
      assertStringIncludes(run.stderr, "  type: must name a registered execution module");
      assertStringIncludes(run.stderr, "  issued_by: ");
      assertStringIncludes(run.stderr, "  budget.amount: ");
      assertStringIncludes(run.stderr, "  budget.currency: must be an ISO 4217 code");
      const json = await keel(h, ["submit", "--json", file]);
      assertEquals(json.code, 4);
      const paths = JSON.parse(json.stdout).error.fields.map((f: { path: string }) => f.path);
      assertEquals(paths.sort(), ["budget.amount", "budget.currency", "issued_by", "type"]);
    } finally {
      await Deno.remove(`${REPO_ROOT}/${file}`);
    }
    const garbage = await keel(h, ["submit", "-"], { stdin: "type: [unclosed" });
    assertEquals(garbage.code, 4);
    assertStringIncludes(garbage.stderr, "stdin is not valid YAML or JSON");
    assertEquals(await directiveCount(h), before);
  });

  await t.step("an unknown id exits 3; a malformed one exits 2", async () => {
    const unknown = crypto.randomUUID();
    for (
      const args of [
        ["status", unknown],
        ["watch", unknown],
        ["history", unknown],
        ["approve", unknown, "--reason", "x"],
        ["abort", unknown, "--reason", "x"],
      ]
    ) {
      const run = await keel(h, args);
      assertEquals(run.code, 3, `${args.join(" ")}: ${run.stderr}`);
      assertStringIncludes(run.stderr, `No directive has id "${unknown}"`);
    }
    const malformed = await keel(h, ["status", "not-an-id"]);
    assertEquals(malformed.code, 2);
    assertStringIncludes(malformed.stderr, `<id> "not-an-id" is not a directive id`);
  });

  await t.step("reading a file outside the project is denied by the permission set", async () => {
    const before = await directiveCount(h);
    const run = await keel(h, ["submit", "/etc/hostname"]);
    assertEquals(run.code, 2, run.stderr);
    assertStringIncludes(run.stderr, `cannot read "/etc/hostname"`);
    assertStringIncludes(run.stderr, "keel submit - < /etc/hostname");
    assertEquals(run.stdout, "");
    assertEquals(await directiveCount(h), before, "nothing was written");
  });
});

harnessTest(
  "approve with no loop running records the decision in Postgres; the reconciler adopts it",
  async (h) => {
    // Temporal unreachable at submit: the directive is stored, no loop starts.
    const deadTemporal = { TEMPORAL_ADDRESS: `127.0.0.1:${freePort()}` };
    const submitted = await keel(h, ["submit", "--detach", "-"], {
      stdin: JSON.stringify(echoDocument()),
      env: deadTemporal,
    });
    assertEquals(submitted.code, 0, submitted.stderr);
    const id = submitted.stdout.trim();
    assertStringIncludes(submitted.stderr, "its loop was not started");

    const unreachable = await keel(h, ["approve", id, "--reason", "x"], { env: deadTemporal });
    assertEquals(unreachable.code, 5, unreachable.stderr);
    assertStringIncludes(unreachable.stderr, "cannot reach Temporal");

    const approved = await keel(h, ["approve", id, "--reason", "approved offline"]);
    assertEquals(approved.code, 0, approved.stderr);
    assertStringIncludes(approved.stdout, "no loop is running (it has no loop)");
    assertStringIncludes(approved.stdout, "recorded directly in Postgres");
    const [row] = await h.sql`
      SELECT d.status, a.actor, a.reason FROM directives d JOIN approvals a ON a.directive_id = d.id
       WHERE d.id = ${id}`;
    assertEquals({ ...row }, {
      status: "approved",
      actor: "ops@example.com",
      reason: "approved offline",
    });

    await h.startWorker();
    const watched = await keel(h, ["watch", id]);
    assertEquals(watched.code, 0, watched.stderr);
    assertStringIncludes(watched.stdout, "ended complete");
  },
  { noWorker: true, reconcileIntervalSeconds: 1 },
);

Deno.test("keel --help and each command's --help exit 0 and document the exit codes", async () => {
  const global = await keel(undefined, ["--help"]);
  assertEquals(global.code, 0);
  for (const command of COMMANDS) assertStringIncludes(global.stdout, `  ${command} `);
  assertStringIncludes(global.stdout, "5  infrastructure unreachable");
  for (const command of COMMANDS) {
    const run = await keel(undefined, [command, "--help"]);
    assertEquals(run.code, 0, run.stderr);
    assertStringIncludes(run.stdout, `Usage: deno task keel ${command}`);
    assertStringIncludes(run.stdout, "Exit codes:");
  }
  assertEquals(
    (await keel(undefined, ["help", "watch"])).stdout.split("\n")[0],
    "Usage: deno task keel watch <id> [--json]",
  );
  const docs = await Deno.readTextFile(`${REPO_ROOT}/docs/cli.md`);
  for (const code of [0, 1, 2, 3, 4, 5]) {
    assertMatch(
      docs,
      new RegExp(`^\\| ${code}\\s+\\| \\S`, "m"),
      `docs/cli.md lacks exit code ${code}`,
    );
  }
});

Deno.test("usage errors exit 2 and name the bad argument", async () => {
  const cases: [string[], string][] = [
    [[], "Usage: deno task keel <command>"],
    [["frobnicate"], `unknown command "frobnicate"`],
    [["list", "--bogus"], "--bogus"],
    [["list", "--limit", "500"], `--limit "500" must be a whole number from 1 to 200`],
    [["list", "--status", "done"], `--status "done" is not one of`],
    [["approve", crypto.randomUUID()], "--reason is required"],
    [["abort", crypto.randomUUID(), "--reason", " "], "--reason must not be blank"],
    // Refused before anything is sent: the ledger's limit less the prefix a rejection gets.
    [
      ["reject", crypto.randomUUID(), "--reason", "x".repeat(1991)],
      "--reason must be at most 1990",
    ],
    [["approve", crypto.randomUUID(), "--reason", "ok", "--actor", "policy:x"], "--actor"],
    [["submit"], "missing <file|->"],
    [["token", "new", "--name", "ops", "--scopes", "read,fly"], `"fly" is not one of`],
    [["token", "new", "--scopes", "read"], "--name is required"],
    [["submit", "a.yaml", "b.yaml"], `unexpected argument "b.yaml"`],
    [["submit", "no/such/file.yaml"], `<file> "no/such/file.yaml" does not exist`],
  ];
  for (const [args, message] of cases) {
    const run = await keel(undefined, args);
    assertEquals(run.code, 2, `${args.join(" ")}: ${run.stdout}${run.stderr}`);
    assertStringIncludes(run.stderr, message);
  }
  const json = await keel(undefined, ["frobnicate", "--json"]);
  assertEquals([json.code, JSON.parse(json.stdout).error.kind], [2, "usage"]);
});

Deno.test("keel token new prints a token once and the KEEL_API_TOKENS entry of its hash", async () => {
  const run = await keel(undefined, [
    "token",
    "new",
    "--name",
    "ops",
    "--scopes",
    "read,approve",
    "--json",
  ]);
  assertEquals(run.code, 0, run.stderr);
  const printed = JSON.parse(run.stdout);
  assertEquals(printed.scopes, ["read", "approve"]);
  assertEquals(printed.entry, `ops:read+approve:${await hashToken(printed.token)}`);
  assertEquals(parseServerConfig({ KEEL_API_TOKENS: printed.entry }).tokens[0]?.name, "ops");
});

Deno.test("an unreachable database exits 5 with the address", async () => {
  const port = freePort();
  const run = await keel(undefined, ["list"], {
    env: { DATABASE_URL: `postgres://keel_app@127.0.0.1:${port}/keel` },
  });
  assertEquals(run.code, 5, run.stderr);
  assertStringIncludes(
    run.stderr,
    `cannot reach the database at postgres://keel_app@127.0.0.1:${port}/keel`,
  );
});

Deno.test("the keel task runs with the `cli` permission set: no write, run or ffi", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}/deno.json`));
  assertEquals(config.tasks?.keel, "deno run --quiet -P=cli src/cli/keel.ts");
  const set = config.permissions?.cli;
  assert(set, "deno.json has no `cli` permission set");
  assertEquals(Object.keys(set).sort(), ["env", "net", "read", "sys"]);
  assertEquals(set.read, ["."]);
  assertEquals(set.sys, ["hostname"]);
  assertEquals(set.net, ["127.0.0.1", "localhost", "postgres", "temporal", "otel-collector"]);
});
