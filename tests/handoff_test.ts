/**
 * The fork guide is tested: in a temporary copy of the repository, write
 * every `file=`-tagged code block of `docs/handoff.md` (a new execution
 * module, its registration, its policy file, its test, an example directive),
 * regenerate the JSON Schema, and run the `deno task ok` checks that the
 * change can affect: fmt check, lint, type check of `src/` and `tests/`, the
 * new module's test with the execution suite, and `deno task validate`.
 * fmt and lint run over the changed files (and all of `src/execution/`):
 * the procedure cannot unformat anything else, and the whole tree may hold
 * other people's unformatted work in progress.
 *
 * Why not the whole suite inside the copy: it needs Temporal, S3 and
 * minutes of CPU, and the fork's change reaches the rest of the code only
 * through the module registry, which the type check, the execution tests,
 * the schema freshness check and the example check cover. Then the copy is
 * compared with the original: only the new files and the documented
 * registration points may differ.
 */
import { assert, assertEquals } from "@std/assert";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { adminUrl } from "./_db.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const GUIDE = join(ROOT, "docs/handoff.md");

/** What the guide may change: its new files and the registration points it names. */
const EXPECTED_CHANGES = [
  "docs/schemas/directive.schema.json",
  "examples/directives/word_count.json",
  "policies/fork.json",
  "src/execution/modules/mod.ts",
  "src/execution/modules/word_count.ts",
  "src/execution/modules/word_count_test.ts",
];

async function run(cwd: string, args: string[]): Promise<void> {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env: { NO_COLOR: "1", MIGRATION_DATABASE_URL: adminUrl() },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  assertEquals(output.code, 0, `deno ${args.join(" ")} failed in the copy:\n${text.slice(-4000)}`);
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

/** The guide's tagged code blocks: ```lang file=path … ```. */
function guideBlocks(markdown: string): { path: string; text: string }[] {
  return [...markdown.matchAll(/^```\w+ file=(\S+)\n([\s\S]*?)^```$/gm)].map((m) => ({
    path: m[1]!,
    text: m[2]!,
  }));
}

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name === "node_modules" || entry.name === ".git") continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* walk(path);
    else if (entry.isFile) yield path;
  }
}

async function digest(path: string): Promise<string> {
  const hash = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("the module procedure of docs/handoff.md passes the ok checks with no edit to a core file", async () => {
  const copy = await Deno.makeTempDir({ prefix: "keel_handoff_" });
  try {
    const files = await repoFiles();
    for (const path of files) {
      const info = await Deno.lstat(join(ROOT, path)).catch(() => undefined);
      if (!info?.isFile) continue; // deleted in the worktree, or a symlink
      await Deno.mkdir(dirname(join(copy, path)), { recursive: true });
      await Deno.copyFile(join(ROOT, path), join(copy, path));
    }
    // The baseline is the copy as made, not the live checkout, which others may edit meanwhile.
    const baseline = new Map<string, string>();
    for await (const path of walk(copy)) baseline.set(relative(copy, path), await digest(path));
    await Deno.symlink(join(ROOT, "node_modules"), join(copy, "node_modules"));

    const blocks = guideBlocks(await Deno.readTextFile(GUIDE));
    assertEquals(
      blocks.map((b) => b.path).sort(),
      EXPECTED_CHANGES.filter((p) => !p.startsWith("docs/schemas/")),
      "the guide's tagged blocks",
    );
    for (const block of blocks) {
      await Deno.mkdir(dirname(join(copy, block.path)), { recursive: true });
      await Deno.writeTextFile(join(copy, block.path), block.text);
    }

    await run(copy, ["run", "-P=schemas", "src/cli/schemas.ts"]);
    // fmt and lint over what the procedure wrote: it cannot unformat other files, and a
    // whole-tree check would fail on whatever work in progress the checkout holds.
    await run(copy, ["fmt", "--check", ...EXPECTED_CHANGES.filter((p) => !p.startsWith("docs/"))]);
    await run(copy, ["lint", "src/execution/"]);
    await run(copy, ["check", "src/", "tests/"]);
    await run(copy, [
      "test",
      "-P=test",
      "src/execution/modules/word_count_test.ts",
      "src/execution/",
    ]);
    await run(copy, ["run", "-P=validate", "src/cli/validate.ts"]);

    const changed: string[] = [];
    for await (const path of walk(copy)) {
      const rel = relative(copy, path);
      if (baseline.get(rel) !== await digest(path)) changed.push(rel);
    }
    assertEquals(changed.sort(), EXPECTED_CHANGES);
  } finally {
    await Deno.remove(copy, { recursive: true });
  }
});
