/**
 * `.env.example` lists exactly the variables Keel reads: those the TypeScript
 * entry points parse (ENV_VARS) and those the scripts, compose and test harness read.
 */
import { assert, assertEquals } from "@std/assert";
import { ENV_VARS } from "../src/config/mod.ts";

const ENV_NAME = /^[A-Z][A-Z0-9_]*$/;
// Variables of the shell and tools, not Keel's configuration.
const SHELL_VARS = new Set(["HOME", "PATH", "SECONDS", "BASH_SOURCE", "PIPESTATUS"]);

function exampleNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split("\n")) {
    const match = /^#?\s*([A-Z][A-Z0-9_]*)=/.exec(line.trim());
    if (match?.[1]) names.add(match[1]);
  }
  return names;
}

async function filesUnder(dir: string, suffix: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) found.push(...await filesUnder(path, suffix));
    else if (entry.name.endsWith(suffix)) found.push(path);
  }
  return found;
}

async function scriptNames(): Promise<Set<string>> {
  const names = new Set<string>();
  const paths = [...await filesUnder("scripts", ".sh"), ".ci/run"];
  for (const path of paths) {
    const text = await Deno.readTextFile(path);
    for (const match of text.matchAll(/\$\{([A-Z][A-Z0-9_]*)(?::?[-=][^}]*)?\}/g)) {
      if (match[1] && !SHELL_VARS.has(match[1])) names.add(match[1]);
    }
  }
  // Compose interpolates the passwords it requires (`${NAME:?...}`) into its services.
  const compose = await Deno.readTextFile("docker-compose.yml");
  for (const match of compose.matchAll(/\$\{([A-Z][A-Z0-9_]*)(?::?[-=?][^}]*)?\}/g)) {
    if (match[1]) names.add(match[1]);
  }
  for (const path of ["tests/_db.ts", "tests/_temporal.ts", "tests/_s3.ts", "tests/_compose.ts"]) {
    const text = await Deno.readTextFile(path);
    for (const match of text.matchAll(/Deno\.env\.get\("([A-Z][A-Z0-9_]*)"\)/g)) {
      if (match[1] && !SHELL_VARS.has(match[1])) names.add(match[1]);
    }
  }
  return names;
}

Deno.test(".env.example lists exactly the variables the code and scripts read", async () => {
  const example = exampleNames(await Deno.readTextFile(".env.example"));
  const code = new Set(ENV_VARS.map((v) => v.name));
  const scripts = await scriptNames();
  const expected = new Set([...code, ...scripts]);
  assertEquals(
    [...example].filter((name) => !expected.has(name)).sort(),
    [],
    ".env.example names variables nothing reads",
  );
  assertEquals(
    [...expected].filter((name) => !example.has(name)).sort(),
    [],
    ".env.example misses variables that are read",
  );
  for (const v of ENV_VARS) {
    if (v.default === undefined) continue;
    assert(
      (await Deno.readTextFile(".env.example")).includes(`${v.name}=${v.default}`),
      `.env.example shows ${v.name} with a value other than its default "${v.default}"`,
    );
  }
});

Deno.test("only entry points read the environment, and only documented names", async () => {
  const documented = new Set(ENV_VARS.map((v) => v.name));
  // A module's file is the entry point of its sandbox process, which gets only the env names
  // the module declares (its `permissions.env`).
  const entryPoint = (path: string) =>
    path === "src/worker.ts" || path === "src/server/main.ts" || path === "src/server/launch.ts" ||
    path.startsWith("src/cli/") || path.startsWith("src/execution/modules/");
  for (const path of await filesUnder("src", ".ts")) {
    if (path.endsWith("_test.ts")) continue;
    const text = await Deno.readTextFile(path);
    if (!entryPoint(path)) {
      assert(!/Deno\.env/.test(text), `${path} reads Deno.env; only entry points may`);
      continue;
    }
    // Names an entry point asks for appear as string literals in its read list.
    for (const match of text.matchAll(/"([A-Z][A-Z0-9_]*)"/g)) {
      const name = match[1] ?? "";
      if (!ENV_NAME.test(name) || name.length < 4) continue;
      if (/^(DATABASE|MIGRATION|TEMPORAL|KEEL|OTEL)_/.test(name)) {
        assert(documented.has(name), `${path} reads "${name}", which ENV_VARS does not document`);
      }
    }
  }
});
