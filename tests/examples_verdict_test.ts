/**
 * `deno task validate`, run as the task runs it, fails naming the example
 * whose verdict under `policies/default.json` differs from the one
 * `examples/expected_verdicts.yaml` states (the EUR budget `echo.yaml` once
 * had), and passes on the shipped examples.
 *
 * @module
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { capture, type Captured } from "./_dev.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const PARTS = ["src", "migrations", "ai", "docs/schemas", "examples", "policies", "deno.json"];

async function copyInto(from: string, to: string): Promise<void> {
  const info = await Deno.stat(from);
  if (info.isFile) {
    await Deno.mkdir(to.slice(0, to.lastIndexOf("/")), { recursive: true });
    await Deno.copyFile(from, to);
    return;
  }
  for await (const entry of Deno.readDir(from)) {
    await copyInto(`${from}/${entry.name}`, `${to}/${entry.name}`);
  }
}

/** Runs the validate task (its permission set, so the copy lives under .data/). */
function validateTask(root: string): Promise<Captured> {
  return capture(
    Deno.execPath(),
    ["run", "--quiet", "-P=validate", "src/cli/validate.ts", "--skip-db", "--root", root],
    { cwd: REPO, env: { HOME: Deno.env.get("HOME") ?? "/root", NO_COLOR: "1" } },
  );
}

Deno.test("validate fails naming an example whose verdict differs from the stated one", async () => {
  const relative = `.data/test/verdicts-${crypto.randomUUID().slice(0, 8)}`;
  const root = `${REPO}/${relative}`;
  try {
    for (const part of PARTS) await copyInto(`${REPO}/${part}`, `${root}/${part}`);
    const good = await validateTask(relative);
    assertEquals(good.code, 0, good.stderr);
    assert(/validate: examples: \d+ directives? under examples\/directives\/ /.test(good.stdout));

    const echo = `${root}/examples/directives/echo.yaml`;
    const text = await Deno.readTextFile(echo);
    assert(text.includes("currency: USD"));
    await Deno.writeTextFile(echo, text.replace("currency: USD", "currency: EUR"));
    const bad = await validateTask(relative);
    assertEquals(bad.code, 1, bad.stdout + bad.stderr);
    assertStringIncludes(bad.stdout, "validate: examples: FAILED, 1 violation");
    const stated = (await Deno.readTextFile(`${root}/examples/expected_verdicts.yaml`)).split("\n")
      .findIndex((line) => line.startsWith("examples/directives/echo.yaml:")) + 1;
    assertEquals(bad.stderr.trim().split("\n"), [
      "examples/directives/echo.yaml:1:1: policies/default.json decides BLOCK by rule " +
      'budget_ceiling ("budget 2.50 EUR is in EUR but the echo ceiling 10.00 USD is in USD ' +
      '(no currency conversion)"), but examples/expected_verdicts.yaml:' + stated +
      " expects ALLOW, " +
      "approved by a person",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
});
