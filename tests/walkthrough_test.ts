/**
 * The README's walkthrough, verbatim: on a copy of the checkout, with
 * `bash scripts/dev.sh` started as the README says (`KEEL_DEMO=0`, which it
 * offers, and free ports through the variables a taken port names), every
 * command of the "While `scripts/dev.sh` runs, try in another terminal" block
 * runs in order in bash, from the checkout, with only HOME and the system's
 * PATH, plus what the block itself exports. `<id>` is replaced with the id the
 * previous submit printed, as a person would copy it. Each must exit 0, and
 * the echo directive must end approved by a person and complete. The
 * transcript (each command and its output) is printed.
 *
 * @module
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { loadPolicy } from "../src/policy/mod.ts";
import { copyCheckout, exists, leftoverProcesses, startDev, SYSTEM_PATH } from "./_dev.ts";
import { freePort } from "./_temporal.ts";

const repo = new URL("..", import.meta.url).pathname;
const BLOCK_INTRO = "While `scripts/dev.sh` runs, try in another terminal";
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

/** The commands of the README's walkthrough block, one per line, as written. */
export function walkthroughCommands(readme: string): string[] {
  const at = readme.indexOf(BLOCK_INTRO);
  assert(at >= 0, `the README has no "${BLOCK_INTRO}" paragraph`);
  const open = readme.indexOf("```sh\n", at);
  const close = readme.indexOf("\n```", open + 1);
  assert(open > at && close > open, "the walkthrough paragraph is followed by no ```sh block");
  return readme.slice(open + "```sh\n".length, close).split("\n")
    .filter((line) => line.trim() !== "" && !line.trim().startsWith("#"));
}

interface Step {
  readonly command: string;
  readonly code: number;
  /** What the terminal shows: stdout and stderr, interleaved as written. */
  readonly output: string;
}

/**
 * Runs one command in a new bash in `cwd`, in the environment the previous
 * commands left (their exports, saved in `state`), as typed lines would run
 * in one terminal.
 */
async function step(cwd: string, state: string, command: string): Promise<Step> {
  const script = `exec 2>&1\n[ -f "$1" ] && . "$1"\n${command}\nrc=$?\nexport -p >"$1"\nexit $rc\n`;
  const output = await new Deno.Command("bash", {
    args: ["-c", script, "walkthrough", state],
    cwd,
    clearEnv: true,
    env: { HOME: Deno.env.get("HOME") ?? "/root", PATH: SYSTEM_PATH },
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
    signal: AbortSignal.timeout(180_000),
  }).output();
  return { command, code: output.code, output: new TextDecoder().decode(output.stdout) };
}

function transcriptOf(steps: readonly Step[]): string {
  return steps.map((s) => `$ ${s.command}\n${s.output}${s.code === 0 ? "" : `[exit ${s.code}]\n`}`)
    .join("");
}

Deno.test("the README's walkthrough block is parsed into its commands", async () => {
  const commands = walkthroughCommands(await Deno.readTextFile(`${repo}README.md`));
  assert(commands[0]?.startsWith('export PATH="$PWD/bin:$PATH"'), commands[0]);
  assert(commands.some((c) => c.includes("<id>")), "the block uses <id>");
  assert(commands.some((c) => c.startsWith("keel approve <id>")), "the block approves");
  // The candidate the block compares with is a valid policy.
  assertEquals((await loadPolicy(`${repo}examples/policies/strict_echo.json`)).name, "strict-echo");
});

Deno.test("the README's walkthrough runs as written and completes an approved echo directive", async () => {
  const dir = await Deno.makeTempDir({ prefix: "keel_walkthrough_" });
  await Deno.chmod(dir, 0o755); // the local cluster runs as the postgres user when we are root
  const state = await Deno.makeTempFile({ prefix: "keel_walkthrough_env_" });
  await Deno.remove(state);
  const steps: Step[] = [];
  try {
    await copyCheckout(dir);
    const commands = walkthroughCommands(await Deno.readTextFile(`${dir}/README.md`));
    const dev = await startDev(dir, {
      HOME: Deno.env.get("HOME") ?? "/root",
      PATH: SYSTEM_PATH,
      KEEL_DEMO: "0",
      KEEL_TEMPORAL_PORT: String(freePort()),
      KEEL_TEMPORAL_UI_PORT: String(freePort()),
      KEEL_PG_PORT: String(freePort()),
      KEEL_HTTP_PORT: String(freePort()),
    });
    let id: string | undefined;
    let echoId: string | undefined;
    try {
      for (const written of commands) {
        if (written.includes("<id>")) {
          assert(id, `"${written}" needs an id, and no submit printed one before it`);
        }
        const result = await step(dir, state, written.replaceAll("<id>", id ?? "<id>"));
        steps.push(result);
        console.log(transcriptOf([result]).trimEnd());
        assertEquals(result.code, 0, `"${result.command}" failed:\n${transcriptOf(steps)}`);
        if (/^keel submit\b/.test(written)) {
          id = result.output.match(UUID)?.[0];
          if (written.includes("echo.yaml")) echoId = id;
        }
      }
    } finally {
      await dev.stop();
    }
    const all = transcriptOf(steps);
    assert(echoId, "the walkthrough submits examples/directives/echo.yaml");
    assert(!all.includes("experimental"), "no Deno notice is printed");
    // Every command that reached the instance said which one.
    for (
      const s of steps.filter((s) =>
        /^keel (submit|approve|watch|history|score|policy)/.test(s.command)
      )
    ) {
      assertStringIncludes(s.output, "using the dev instance in .data/instance.json", s.command);
    }
    const history = steps.find((s) => s.command.startsWith(`keel history ${echoId}`));
    assert(history, "the walkthrough shows the echo directive's ledger");
    assert(/proposed → approved\s+cli\s/.test(history.output), history.output);
    assertStringIncludes(history.output, "executing → complete");
    const diff = steps.find((s) => s.command.startsWith("keel policy diff"));
    if (diff) assertStringIncludes(diff.output, echoId);
    assert(!await exists(`${dir}/.data/instance.json`), "Ctrl-C removes the instance file");
    assertEquals(await leftoverProcesses(dir), []);
  } finally {
    await Deno.writeTextFile(
      `${Deno.env.get("TMPDIR") ?? "/tmp"}/keel_walkthrough_transcript.txt`,
      transcriptOf(steps),
    );
    await Deno.remove(state).catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
