/**
 * Policy what-if and policy hashes on the real Postgres: `keel policy diff`
 * run as a subprocess exactly as `deno task keel` runs it, the domain
 * function in process, and the hash the policy step stores.
 */
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import type { Sql } from "../src/db/mod.ts";
import { submitDirective } from "../src/directives/mod.ts";
import { BUILTIN_MODULES, createRegistry } from "../src/execution/mod.ts";
import {
  parsePolicy,
  policyContentHash,
  type PolicyDocument,
  policyWhatIf,
  readOnlyTransaction,
  runPolicyStep,
} from "../src/policy/mod.ts";
import { createMigratedDatabase, type TestDatabase, withSql } from "./_db.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";

const REPO_ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const SCRATCH = `${REPO_ROOT}/.data/test`;
const registry = createRegistry(BUILTIN_MODULES);
const moduleOf = (type: string) => registry.find(type);

const ACTIVE: PolicyDocument = {
  name: "whatif",
  version: "1",
  allowed_types: ["noop", "echo", "fail_intentionally", "http_request"],
  max_timebox_seconds: 3600,
  budget_ceilings: {
    noop: "1 USD",
    echo: "10 USD",
    fail_intentionally: "10 USD",
    http_request: "1 USD",
  },
  required_fields: { echo: ["payload.message"] },
  auto_approve_types: ["noop"],
  approval_timeout_seconds: 86400,
  net_allow: { http_request: ["127.0.0.1"] },
};

/** A lowered noop ceiling, echo no longer allowed, http_request narrowed to one port. */
const CANDIDATE: PolicyDocument = {
  name: "whatif",
  version: "2",
  allowed_types: ["noop", "fail_intentionally", "http_request"],
  max_timebox_seconds: 3600,
  budget_ceilings: { noop: "0.25 USD", fail_intentionally: "10 USD", http_request: "1 USD" },
  auto_approve_types: ["noop"],
  approval_timeout_seconds: 3600,
  net_allow: { http_request: ["127.0.0.1:8080"] },
};

interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function keel(
  db: TestDatabase | undefined,
  args: string[],
  env: Record<string, string> = {},
) {
  const base: Record<string, string> = { NO_COLOR: "1" };
  for (const name of ["HOME", "DENO_DIR"]) {
    const value = Deno.env.get(name);
    if (value) base[name] = value;
  }
  if (db) base.DATABASE_URL = db.appUrl;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-P=cli", "src/cli/keel.ts", ...args],
    cwd: REPO_ROOT,
    clearEnv: true,
    env: { ...base, ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr).split("\n")
      .filter((line) => !line.includes("Permissions in the config file is an experimental"))
      .join("\n"),
  } satisfies CliRun;
}

/** Writes a file under .data/test (inside the CLI's read allow-list); returns its relative path. */
async function scratchFile(name: string, text: string): Promise<string> {
  await Deno.mkdir(SCRATCH, { recursive: true });
  const path = `${SCRATCH}/${crypto.randomUUID().slice(0, 8)}-${name}`;
  await Deno.writeTextFile(path, text);
  return path.slice(REPO_ROOT.length + 1);
}

async function submit(sql: Sql, overrides: Record<string, unknown>): Promise<string> {
  const { directive } = await submitDirective(sql, echoDocument(overrides), {
    schema: builtinSchema(),
  });
  return directive.id;
}

/** Row counts of every table of the public schema. */
async function tableCounts(sql: Sql): Promise<Record<string, number>> {
  const tables = await sql<{ name: string }[]>`
    SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`;
  const counts: Record<string, number> = {};
  for (const { name } of tables) {
    const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM ${sql(name)}`;
    counts[name] = row?.n ?? -1;
  }
  return counts;
}

interface Fixture {
  readonly db: TestDatabase;
  /** Directive ids by role. */
  readonly ids: Record<string, string>;
}

/**
 * Six directives: three the candidate decides differently (noop over the new
 * ceiling, an echo, an http_request to a port outside the new allow-list),
 * two it decides the same (one blocked by both, one allowed by both) and one
 * changed but created 30 days ago (outside the default 7 days).
 */
async function withFixture(fn: (fixture: Fixture) => Promise<void>): Promise<void> {
  const db = await createMigratedDatabase("keel_whatif");
  try {
    const ids = await withSql(db.appUrl, async (sql) => ({
      noop: await submit(sql, { type: "noop", budget: { amount: "0.50", currency: "USD" } }),
      echo: await submit(sql, { type: "echo" }),
      http: await submit(sql, {
        type: "http_request",
        budget: { amount: "0.10", currency: "USD" },
        payload: { url: "http://127.0.0.1:9000/x" },
      }),
      blockedBoth: await submit(sql, { budget: { amount: "20", currency: "USD" } }),
      same: await submit(sql, { type: "fail_intentionally" }),
      old: await submit(sql, { type: "noop", budget: { amount: "0.75", currency: "USD" } }),
    }));
    // Backdate one directive; the frozen-intent trigger refuses that, so skip triggers (test only).
    await withSql(db.ownerUrl, async (sql) => {
      await sql.begin(async (tx) => {
        await tx`SET LOCAL session_replication_role = replica`;
        await tx`UPDATE directives SET created_at = now() - interval '30 days' WHERE id = ${ids.old}`;
      });
    });
    await fn({ db, ids });
  } finally {
    await db.drop();
  }
}

Deno.test("keel policy diff lists exactly the changed verdicts with both reasons, writing nothing", async () => {
  await withFixture(async ({ db, ids }) => {
    const active = await scratchFile("active.json", JSON.stringify(ACTIVE, null, 2));
    const candidate = await scratchFile("candidate.json", JSON.stringify(CANDIDATE));
    const before = await withSql(db.ownerUrl, tableCounts);
    const env = { KEEL_POLICY_FILE: active };

    const text = await keel(db, ["policy", "diff", candidate], env);
    assertEquals(text.code, 0, text.stderr);
    const lines = text.stdout.split("\n");
    const listed = lines.filter((line) => /^[0-9a-f-]{36} /.test(line)).map((l) => l.slice(0, 36));
    assertEquals(listed.sort(), [ids.noop, ids.echo, ids.http].sort());
    assertStringIncludes(text.stdout, "examined 5, changed 3");
    const block = (id: string) => lines.slice(lines.findIndex((l) => l.startsWith(id)), undefined);
    const [noopHead, noopActive, noopCandidate] = block(ids.noop!);
    assertStringIncludes(noopHead!, "noop proposed");
    assertStringIncludes(noopHead!, "verdict, auto_approve, granted would change");
    assertStringIncludes(
      noopActive!,
      "active     ALLOW [auto-approve] by rule ok: all rules passed",
    );
    assertEquals(
      noopCandidate,
      "  candidate  BLOCK by rule budget_ceiling: budget 0.5000 USD exceeds the noop ceiling 0.25 USD",
    );
    assertStringIncludes(block(ids.echo!)[2]!, `BLOCK by rule allowed_types: type "echo"`);
    assertStringIncludes(block(ids.http!)[2]!, 'BLOCK by rule net_allow: target "127.0.0.1:9000"');
    const activeHash = policyContentHash(parsePolicy(ACTIVE, "test"));
    assertStringIncludes(text.stdout, `active     whatif@1 (sha256 ${activeHash})`);

    // --days widens the period: the old directive is examined and changes too.
    const wide = await keel(db, ["policy", "diff", candidate, "--days", "31", "--json"], env);
    assertEquals(wide.code, 0, wide.stderr);
    const report = JSON.parse(wide.stdout);
    assertEquals([report.examined, report.changed, report.read_only], [6, 4, true]);
    assertEquals(
      report.changes.map((c: { directive_id: string }) => c.directive_id).sort(),
      [ids.noop, ids.echo, ids.http, ids.old].sort(),
    );
    const http = report.changes.find((c: { directive_id: string }) => c.directive_id === ids.http);
    assertEquals(http.differs, ["verdict", "granted"]);
    assertEquals(http.active.granted, { net: ["127.0.0.1"] });
    assertEquals([http.candidate.verdict, http.candidate.granted], ["BLOCK", null]);
    assertEquals(report.candidate.sha256, policyContentHash(parsePolicy(CANDIDATE, "test")));

    // --limit keeps the newest and says so.
    const limited = await keel(db, ["policy", "diff", candidate, "--limit", "2"], env);
    assertStringIncludes(limited.stdout, "examined 2, changed");
    assertStringIncludes(limited.stdout, "only the newest 2: raise --limit for more");

    // The same policy on both sides changes nothing.
    const same = await keel(db, ["policy", "diff", active], env);
    assertEquals(same.code, 0, same.stderr);
    assertStringIncludes(same.stdout, "examined 5, changed 0");

    assertEquals(await withSql(db.ownerUrl, tableCounts), before);
  });
});

Deno.test("policyWhatIf reads in a READ ONLY transaction, where a write fails", async () => {
  await withFixture(async ({ db, ids }) => {
    const before = await withSql(db.ownerUrl, tableCounts);
    await withSql(db.appUrl, async (sql) => {
      const result = await policyWhatIf(sql, {
        active: parsePolicy(ACTIVE, "active"),
        candidate: parsePolicy(CANDIDATE, "candidate"),
        since: new Date(Date.now() - 7 * 86_400_000),
        moduleOf,
      });
      assertEquals([result.examined, result.changes.length, result.read_only], [5, 3, true]);
      const noop = result.changes.find((c) => c.directive_id === ids.noop);
      assertEquals(noop?.active.reason.startsWith("all rules passed"), true);
      assertEquals(noop?.candidate.rule, "budget_ceiling");
      // The transaction the what-if uses refuses writes (SQLSTATE 25006).
      const error = await assertRejects(() =>
        readOnlyTransaction(sql, (tx) => tx`DELETE FROM directives WHERE id = ${ids.noop!}`)
      );
      assertEquals((error as { code?: string }).code, "25006");
    });
    assertEquals(await withSql(db.ownerUrl, tableCounts), before);
  });
});

Deno.test("a bad candidate or bad arguments exit non-zero naming the field, before any read", async () => {
  const bad = await scratchFile(
    "bad.json",
    JSON.stringify({ ...ACTIVE, budget_ceilings: { ...ACTIVE.budget_ceilings, noop: "lots" } }),
  );
  const run = await keel(undefined, ["policy", "diff", bad]);
  assertEquals(run.code, 4, run.stderr);
  assertStringIncludes(
    run.stderr,
    `keel policy: candidate policy "${bad}" is invalid (1 problem):`,
  );
  assertStringIncludes(run.stderr, "  $.budget_ceilings.noop: ");
  const json = await keel(undefined, ["policy", "diff", bad, "--json"]);
  const error = JSON.parse(json.stdout).error;
  assertEquals([json.code, error.kind, error.fields[0].path], [
    4,
    "invalid_policy",
    "$.budget_ceilings.noop",
  ]);

  const notJson = await scratchFile("broken.json", "{ not json");
  const broken = await keel(undefined, ["policy", "diff", notJson]);
  assertEquals(broken.code, 4, broken.stderr);
  assertStringIncludes(broken.stderr, "it is not valid JSON");

  const good = await scratchFile("good.json", JSON.stringify(CANDIDATE));
  const cases: [string[], string][] = [
    [["policy"], "missing subcommand: diff"],
    [["policy", "apply", "x.json"], `unknown subcommand "apply"`],
    [["policy", "diff"], "missing <candidate.json>"],
    [
      ["policy", "diff", good, "--active", "no/active.json"],
      `active policy "no/active.json" does not exist (set KEEL_POLICY_FILE or --active)`,
    ],
    [["policy", "diff", "no/such.json"], `candidate policy "no/such.json" does not exist`],
    [["policy", "diff", bad, "--days", "0"], `--days "0" must be a whole number from 1 to 3650`],
    [["policy", "diff", bad, "--limit", "x"], `--limit "x" must be a whole number from 1 to 10000`],
    [["policy", "diff", bad, "--bogus"], "--bogus"],
  ];
  for (const [args, message] of cases) {
    const usage = await keel(undefined, args);
    assertEquals(usage.code, 2, `${args.join(" ")}: ${usage.stdout}${usage.stderr}`);
    assertStringIncludes(usage.stderr, message);
  }
  // A bad active policy is bad configuration: exit 2, naming the field too.
  const badActive = await keel(undefined, ["policy", "diff", good], { KEEL_POLICY_FILE: bad });
  assertEquals(badActive.code, 2, badActive.stderr);
  assertStringIncludes(badActive.stderr, `active policy "${bad}" is invalid (1 problem):`);
  assertStringIncludes(badActive.stderr, "  $.budget_ceilings.noop: ");

  const help = await keel(undefined, ["policy", "diff", "--help"]);
  assertEquals(help.code, 0);
  assertStringIncludes(help.stdout, "Usage: deno task keel policy diff <candidate.json>");
  assertStringIncludes(help.stdout, "Exit codes:");
});

Deno.test("the policy step stores the policy's content hash, and keel status shows it", async () => {
  await withFixture(async ({ db, ids }) => {
    const policy = parsePolicy(ACTIVE, "active");
    const id = ids.blockedBoth!;
    await withSql(db.appUrl, async (sql) => {
      await runPolicyStep(sql, id, { policy, moduleOf });
      const [row] = await sql<{ policy_sha256: string; verdict: string }[]>`
        SELECT policy_sha256, verdict FROM policy_evaluations WHERE directive_id = ${id}`;
      assertEquals(row?.verdict, "BLOCK");
      assertEquals(row?.policy_sha256, policyContentHash(policy));
      assertMatch(row?.policy_sha256 ?? "", /^[0-9a-f]{64}$/);
      // The column refuses anything but 64 lowercase hex characters.
      const error = await assertRejects(() =>
        sql`INSERT INTO policy_evaluations
              (directive_id, policy_name, policy_version, verdict, reason, rule, policy_sha256)
            VALUES (${id}, 'p', '1', 'ALLOW', 'r', 'ok', 'ABC')`
      );
      assertEquals((error as { code?: string }).code, "23514");
    });
    const status = await keel(db, ["status", id]);
    assertEquals(status.code, 0, status.stderr);
    assertStringIncludes(status.stdout, `policy sha ${policyContentHash(policy)}`);
    const json = JSON.parse((await keel(db, ["status", id, "--json"])).stdout);
    assertEquals(json.policy[0].policy_sha256, policyContentHash(policy));
    assert(json.policy[0].policy_sha256);
  });
});
