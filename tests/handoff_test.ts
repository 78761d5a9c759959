/**
 * The fork guide is tested. In a temporary copy of the checkout (its tracked
 * and untracked files; the checkout itself is never written), a module of a
 * fork's own is planted first (`shout`, with its test, registration, policy
 * entries and example), as a fork that already followed the guide once would
 * have it. Then every `file=`-tagged code block of `docs/handoff.md` is
 * applied: the new files are written, and the registration point and the
 * fork's policy file are added to, not replaced. In the copy run the checks a
 * new module can break: fmt and lint of what the guide wrote, `deno task
 * check`, the new module's unit and loop tests, the fork's own module test,
 * the execution suite, `tests/schemas_test.ts`, `tests/validate_test.ts` and
 * `deno task validate`. Finally the copy may differ only in the guide's new
 * files and its registration points.
 *
 * Why not the whole suite inside the copy: it needs S3 and about 15 minutes
 * of CPU, and the fork's change reaches the rest of the code only through
 * the module registry and the examples folder, which the suites above read.
 */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { adminUrl } from "./_db.ts";
import {
  addPolicyEntries,
  addRegistration,
  FORK_POLICY,
  type GuideBlock,
  guideBlocks,
  GuideMergeError,
  REGISTRATION_POINT,
} from "./_handoff.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const GUIDE = join(ROOT, "docs/handoff.md");
const SCHEMA = "docs/schemas/directive.schema.json";

/** The guide's new files. */
const NEW_FILES = [
  "examples/directives/word_count.json",
  "src/execution/modules/word_count.ts",
  "src/execution/modules/word_count_test.ts",
  "tests/word_count_loop_test.ts",
];

/** What following the guide may change: its new files and the points it adds to. */
const EXPECTED_CHANGES = [SCHEMA, ...NEW_FILES, FORK_POLICY, REGISTRATION_POINT].sort();

/** A module of the fork's own, there before the guide is followed. */
const FORK_OWN: Record<string, string> = {
  "src/execution/modules/shout.ts": `import { defineModule } from "../define.ts";

/** Upper-cases \`payload.text\`: a fork's own module, there before the guide's. */
export const shoutModule = defineModule({
  type: "shout",
  description: "upper-cases payload.text",
  entry: import.meta.url,
  retrySafe: true,
  execute(input) {
    const text = String(input.payload.text ?? "");
    return Promise.resolve({
      status: "SUCCESS",
      result: { text: text.toUpperCase() },
      message: "shouted",
      artifacts: [],
      budgetConsumed: "0",
    });
  },
});
`,
  "src/execution/modules/shout_test.ts": `import { assertEquals } from "@std/assert";
import { loadPolicy } from "../../policy/mod.ts";
import { BUILTIN_MODULES, createRegistry } from "../registry.ts";
import { shoutModule } from "./shout.ts";

Deno.test("the fork's own module stays registered and allowed", async () => {
  assertEquals(createRegistry(BUILTIN_MODULES).get("shout"), shoutModule);
  const policy = await loadPolicy(new URL("../../../policies/fork.json", import.meta.url).pathname);
  assertEquals(policy.allowed_types.includes("shout"), true);
});
`,
  "examples/directives/shout.json": `{
  "type": "shout",
  "issued_by": "agent:planner@fork",
  "objective": "Shout a greeting",
  "budget": { "amount": "0.01", "currency": "USD" },
  "timebox": "1m",
  "payload": { "text": "hello" },
  "idempotency_key": "example/shout/greeting-1"
}
`,
};
const FORK_OWN_REGISTRATION = `import { shoutModule } from "./shout.ts";
export const FORK_MODULES: readonly ExecutionModule[] = [shoutModule];
`;
const FORK_OWN_POLICY = `{
  "name": "acme",
  "version": "2026.12.01-1",
  "allowed_types": ["noop", "shout"],
  "max_timebox_seconds": 600,
  "budget_ceilings": { "noop": "1 USD", "shout": "0.01 USD" },
  "scope_deny": ["production"],
  "auto_approve_types": ["shout"],
  "approval_timeout_seconds": 3600
}
`;

async function run(cwd: string, args: string[]): Promise<string> {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env: { NO_COLOR: "1", MIGRATION_DATABASE_URL: adminUrl() },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  // A failed test run shows its ERRORS section; anything else, its end.
  const errors = text.indexOf(" ERRORS ");
  const shown = errors >= 0 ? text.slice(errors, errors + 8000) : text.slice(-4000);
  assertEquals(output.code, 0, `deno ${args.join(" ")} failed in the copy:\n${shown}`);
  return text;
}

async function repoFiles(): Promise<string[]> {
  const output = await new Deno.Command("git", {
    args: ["ls-files", "-co", "--exclude-standard", "-z"],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  assert(output.success, "git ls-files failed");
  return new TextDecoder().decode(output.stdout).split("\0").filter((path) => path !== "");
}

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    // .data holds what running Keel writes (the workflow bundle, artifacts), not the fork's files.
    if (entry.name === "node_modules" || entry.name === ".git" || entry.name === ".data") continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* walk(path);
    else if (entry.isFile) yield path;
  }
}

async function digest(path: string): Promise<string> {
  const hash = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function digests(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const path of walk(dir)) out.set(relative(dir, path), await digest(path));
  return out;
}

async function readIfAny(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Writes the guide's blocks into `root`: new files as written, the rest added to. */
async function follow(root: string, blocks: readonly GuideBlock[]): Promise<void> {
  for (const block of blocks) {
    const path = join(root, block.path);
    await Deno.mkdir(dirname(path), { recursive: true });
    const current = await readIfAny(path);
    if (block.path === REGISTRATION_POINT) {
      await Deno.writeTextFile(path, addRegistration(current ?? "", block.text));
    } else if (block.path === FORK_POLICY) {
      await Deno.writeTextFile(path, addPolicyEntries(current, block.text));
    } else {
      await Deno.writeTextFile(path, block.text);
    }
  }
}

async function guide(): Promise<GuideBlock[]> {
  return guideBlocks(await Deno.readTextFile(GUIDE));
}

function blockAt(blocks: readonly GuideBlock[], path: string): GuideBlock {
  const block = blocks.find((b) => b.path === path);
  assert(block, `the guide has no block for ${path}`);
  return block;
}

Deno.test("the guide's blocks are its new files, the registration point and the fork policy", async () => {
  assertEquals(
    (await guide()).map((b) => b.path).sort(),
    [...NEW_FILES, FORK_POLICY, REGISTRATION_POINT].sort(),
  );
});

Deno.test("the registration is added to: shipped, it becomes the guide's block; a fork keeps its own", async () => {
  const block = blockAt(await guide(), REGISTRATION_POINT).text;
  // The registration point as Keel ships it: the guide's block without its module.
  const shipped = block
    .replace(/^import \{ wordCountModule \}.*\n/m, "")
    .replace("[wordCountModule]", "[]");
  assert(shipped !== block && !shipped.includes("wordCountModule"));
  assertEquals(addRegistration(shipped, block), block);
  assertEquals(addRegistration(block, block), block, "applied twice, it changes nothing");

  const fork = addRegistration(shipped, FORK_OWN_REGISTRATION);
  const both = addRegistration(fork, block);
  assertStringIncludes(both, `import { shoutModule } from "./shout.ts";\n`);
  assertStringIncludes(both, `import { wordCountModule } from "./word_count.ts";\n`);
  assertStringIncludes(both, "= [shoutModule, wordCountModule];");
  assertThrows(
    () => addRegistration("export const OTHER = [];\n", block),
    GuideMergeError,
    "no `export const FORK_MODULES = [...]` list",
  );
});

Deno.test("the policy entries are added to a fork's policy; its own values stay", async () => {
  const block = blockAt(await guide(), FORK_POLICY).text;
  assertEquals(addPolicyEntries(undefined, block), block);
  const policy = JSON.parse(addPolicyEntries(FORK_OWN_POLICY, block));
  assertEquals(policy.name, "acme");
  assertEquals(policy.version, "2026.12.01-1");
  assertEquals(policy.max_timebox_seconds, 600);
  assertEquals(policy.allowed_types, ["noop", "shout", "echo", "fail_intentionally", "word_count"]);
  assertEquals(policy.budget_ceilings.noop, "1 USD");
  assertEquals(policy.budget_ceilings.word_count, "0.10 USD");
  assertEquals(policy.auto_approve_types, ["shout", "noop", "word_count"]);
  assertEquals(policy.required_fields.word_count, ["payload.text"]);
  assertThrows(() => addPolicyEntries("[]", block), GuideMergeError, "not a JSON object");
});

Deno.test({
  name: "following docs/handoff.md in a fork's copy keeps every check green with no core edit",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const watched = [REGISTRATION_POINT, FORK_POLICY, SCHEMA, "tests/_loop.ts"];
    const before = await Promise.all(watched.map((path) => readIfAny(join(ROOT, path))));
    const copy = await Deno.makeTempDir({ prefix: "keel_handoff_" });
    try {
      for (const path of await repoFiles()) {
        const info = await Deno.lstat(join(ROOT, path)).catch(() => undefined);
        if (!info?.isFile) continue; // deleted in the worktree, or a symlink
        await Deno.mkdir(dirname(join(copy, path)), { recursive: true });
        await Deno.copyFile(join(ROOT, path), join(copy, path));
      }
      await Deno.symlink(join(ROOT, "node_modules"), join(copy, "node_modules"));

      // The fork as it stood before this module: one module of its own, registered and allowed.
      for (const [path, text] of Object.entries(FORK_OWN)) {
        await Deno.mkdir(dirname(join(copy, path)), { recursive: true });
        await Deno.writeTextFile(join(copy, path), text);
      }
      await follow(copy, [
        { path: REGISTRATION_POINT, text: FORK_OWN_REGISTRATION },
        { path: FORK_POLICY, text: FORK_OWN_POLICY },
      ]);
      await run(copy, ["fmt", "--quiet", FORK_POLICY, REGISTRATION_POINT]);
      await run(copy, ["task", "schemas"]);
      // The baseline is the copy as the fork had it, not the live checkout, which others may
      // edit meanwhile.
      const baseline = await digests(copy);

      await follow(copy, await guide());
      // The files the guide added to are formatted as a person would after editing them; the
      // new files must be formatted as the guide prints them.
      await run(copy, ["fmt", "--quiet", FORK_POLICY, REGISTRATION_POINT]);
      await run(copy, ["task", "schemas"]);
      await run(copy, ["fmt", "--check", ...NEW_FILES]);
      await run(copy, ["lint", "src/execution/", "tests/word_count_loop_test.ts"]);
      await run(copy, ["task", "check"]);
      await run(copy, [
        "test",
        "-P=test",
        "src/execution/",
        "tests/word_count_loop_test.ts",
        "tests/schemas_test.ts",
        "tests/validate_test.ts",
      ]);
      await run(copy, ["task", "validate"]);

      const after = await digests(copy);
      const changed = [...after.keys()].filter((path) => baseline.get(path) !== after.get(path));
      assertEquals(changed.sort(), EXPECTED_CHANGES);
      const registration = await Deno.readTextFile(join(copy, REGISTRATION_POINT));
      assertStringIncludes(registration, "[shoutModule, wordCountModule]");
    } finally {
      await Deno.remove(copy, { recursive: true });
    }
    const unchanged = await Promise.all(watched.map((path) => readIfAny(join(ROOT, path))));
    assertEquals(unchanged, before, "the checkout's own files are never written");
  },
});
