/**
 * `deno task validate` against the real Postgres: the real repository passes,
 * and a temporary copy with a planted violation fails at the exact place.
 */
import { assert, assertEquals } from "@std/assert";
import { type TableModel, TABLES } from "../src/models/mod.ts";
import { connect } from "../src/db/mod.ts";
import {
  type CatalogRow,
  checkBoundaries,
  checkMigrationEntries,
  type CheckResult,
  checkSchemaDrift,
  compareCatalog,
  findGlobalUses,
  findImports,
  formatViolation,
  locateModels,
  readSourceFiles,
  tokenize,
  validate,
} from "../src/validate/mod.ts";
import { adminUrl } from "./_db.ts";
import {
  checkContractFields,
  checkDirectiveExamples,
  CONTRACT_DOC_PATH,
  readExampleFiles,
} from "../src/validate/mod.ts";
import { BUILTIN_MODULES, createRegistry, SHIPPED_MODULES } from "../src/execution/registry.ts";
import {
  checkModulePermissions,
  type DeclaredModule,
  workerPermissionsOf,
} from "../src/validate/mod.ts";
import { overreachModule } from "./fixtures/validate_modules/overreach.ts";
import { createDirectiveSchema } from "../src/models/directive.ts";
import { DIRECTIVE_SCHEMA_PATH } from "../src/models/directive_json_schema.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

// Planted migrations take the numbers after the real ones, so these tests
// keep working as migrations are added.
const MIGRATION_COUNT =
  [...Deno.readDirSync(`${REPO}/migrations`)].filter((e) => e.name.endsWith(".sql")).length;
const pad = (n: number) => String(n).padStart(4, "0");
const NEXT = pad(MIGRATION_COUNT + 1);
const AFTER_GAP = pad(MIGRATION_COUNT + 2);

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) await copyTree(`${from}/${entry.name}`, `${to}/${entry.name}`);
    else if (entry.isFile) await Deno.copyFile(`${from}/${entry.name}`, `${to}/${entry.name}`);
  }
}

/** Runs `fn` on a temporary copy of `src/`, `migrations/` and `ai/`, then removes it. */
async function withCopy(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "keel_validate_test_" });
  try {
    for (const dir of ["src", "migrations", "ai"]) {
      await copyTree(`${REPO}/${dir}`, `${root}/${dir}`);
    }
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function plant(root: string, path: string, text: string): Promise<void> {
  await Deno.mkdir(`${root}/${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
  await Deno.writeTextFile(`${root}/${path}`, text);
}

function byCheck(results: readonly CheckResult[]): Record<string, CheckResult> {
  return Object.fromEntries(results.map((result) => [result.check, result]));
}

function linesOf(result: CheckResult | undefined): string[] {
  return (result?.violations ?? []).map(formatViolation);
}

/** The 1-based line and column where `needle` first occurs in `text`. */
function where(text: string, needle: string): string {
  const offset = text.indexOf(needle);
  assert(offset >= 0, `"${needle}" not found`);
  const before = text.slice(0, offset);
  return `${before.split("\n").length}:${offset - before.lastIndexOf("\n")}`;
}

async function keelValidateDatabases(): Promise<string[]> {
  const sql = connect(adminUrl(), { max: 1 });
  try {
    const rows = await sql<{ datname: string }[]>`
      SELECT datname FROM pg_database WHERE datname LIKE 'keel\\_validate\\_%'`;
    return rows.map((row) => row.datname);
  } finally {
    await sql.end();
  }
}

Deno.test("the real repository passes all three checks", async () => {
  const before = new Set(await keelValidateDatabases());
  const results = byCheck(await validate({ root: REPO, databaseUrl: adminUrl() }));
  for (const check of ["boundaries", "migrations", "schema"]) {
    assertEquals(results[check]?.status, "ok", linesOf(results[check]).join("\n"));
  }
  const tableCount = Object.keys(TABLES).length;
  assert(
    results.schema?.summary.includes(`${tableCount} tables`),
    `schema summary should count ${tableCount} tables: ${results.schema?.summary}`,
  );
  // Another process on the same server (a concurrent `deno task validate`) may hold a scratch
  // database of its own for a moment: wait for those to go; ours must already be gone.
  let leftover: string[] = [];
  for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
    leftover = (await keelValidateDatabases()).filter((name) => !before.has(name));
    if (leftover.length === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assertEquals(leftover, [], "the scratch database must be dropped");
});

Deno.test("the scanner ignores comments, strings, templates and regexes", () => {
  const text = [
    `// import a from "../ai/line_comment.ts";`,
    `/* import b from "../ai/block_comment.ts"; */`,
    `const s = "import c from '../ai/string.ts'";`,
    'const t = `import d from "../ai/template.ts" ${s}`;',
    `const r = /import e from "..\\/ai\\/regex.ts"/;`,
    `const m = import.meta.url; x.import("../ai/member.ts");`,
    `type T = typeof import("./types.ts");`,
    `import type, { a } from "./value_named_type.ts";`,
    `import { type A, type B as C } from "./inline_types.ts";`,
    `export type { D } from "./type_reexport.ts";`,
    "const lazy = await import(`./template_literal.ts`);",
    `const computed = await import(s);`,
  ].join("\n");
  const refs = findImports(tokenize(text)).map((ref) =>
    `${ref.line}:${ref.col} ${ref.kind} ${ref.specifier ?? "<computed>"}${
      ref.typeOnly ? " type" : ""
    }`
  );
  assertEquals(refs, [
    "7:24 dynamic ./types.ts type",
    "8:25 import ./value_named_type.ts",
    "9:37 import ./inline_types.ts type",
    "10:24 export-from ./type_reexport.ts type",
    "11:27 dynamic ./template_literal.ts",
    "12:24 dynamic <computed>",
  ]);
});

Deno.test("the scanner finds the Deno global, directly or through globalThis, and nothing else", () => {
  const text = [
    `const a = Deno.env; const b = globalThis.Deno;`,
    `const c = other.Deno; const d = { Deno: 1 }; const e = "Deno.exit()"; // Deno.cwd()`,
    "const f = `${Deno.pid}`;",
  ].join("\n");
  const uses = findGlobalUses(tokenize(text), "Deno").map((token) => `${token.line}:${token.col}`);
  assertEquals(uses, ["1:11", "1:42", "3:14"]);
});

Deno.test("a file under src/ that imports from ai/ is caught at the specifier", async () => {
  await withCopy(async (root) => {
    const text = [
      `// import x from "../../ai/commented_out.md"; is not an import`,
      `import roles from "../../ai/roles.md" with { type: "text" };`,
      `export { contract } from "../../ai/contracts.ts";`,
      `const note = "import y from '../../ai/in_a_string.md'";`,
      `export async function load() {`,
      `  return [note, roles, await import("../../ai/lazy.ts"), await import("ai/bare.ts")];`,
      `}`,
      `import type { Role } from "${root}/ai/absolute.ts";`,
      `import "./fine.ts";`,
    ].join("\n");
    await plant(root, "src/policy/leak.ts", text);
    const results = byCheck(await validate({ root, skipDb: true }));
    assertEquals(results.boundaries?.status, "failed");
    const rule = "nothing under src/ may import from ai/ (cognition must not execute)";
    assertEquals(linesOf(results.boundaries), [
      `src/policy/leak.ts:2:19: imports "../../ai/roles.md", which resolves to ai/roles.md: ${rule}`,
      `src/policy/leak.ts:3:26: re-exports from "../../ai/contracts.ts", which resolves to ai/contracts.ts: ${rule}`,
      `src/policy/leak.ts:6:37: dynamically imports "../../ai/lazy.ts", which resolves to ai/lazy.ts: ${rule}`,
      `src/policy/leak.ts:6:71: dynamically imports "ai/bare.ts", which resolves to ai/bare.ts: ${rule}`,
      `src/policy/leak.ts:8:27: imports "${root}/ai/absolute.ts", which resolves to ai/absolute.ts: ${rule}`,
    ]);
    // The line:col pairs above are where the specifiers start.
    assertEquals(where(text, `"../../ai/roles.md"`), "2:19");
    assertEquals(where(text, `"ai/bare.ts"`), "6:71");
    assertEquals(results.migrations?.status, "ok");
    assertEquals(results.schema?.status, "skipped");
  });
});

Deno.test("an import map entry pointing into ai/ is caught too", () => {
  const report = checkBoundaries(
    [{ path: "src/x.ts", text: `import p from "#prompts/p.ts";\nimport "@std/assert";` }],
    { importMap: { "#prompts/": "./ai/prompts/", "@std/assert": "./tests/_std_assert.ts" } },
  );
  assertEquals(report.violations.map(formatViolation), [
    `src/x.ts:1:15: imports "#prompts/p.ts", which resolves to ai/prompts/p.ts: nothing under ` +
    `src/ may import from ai/ (cognition must not execute)`,
  ]);
});

Deno.test("workflow code imports values only from @temporalio/workflow and other workflow files", async () => {
  await withCopy(async (root) => {
    const flow = [
      `import { proxyActivities } from "@temporalio/workflow";`,
      `import type { Sql } from "../../db/mod.ts";`,
      `import { readFileSync } from "node:fs";`,
      `import postgres from "postgres";`,
      `import { connect } from "../../db/mod.ts";`,
      `import { z } from "npm:zod@4";`,
      `import { helper } from "./helper.ts";`,
      `// Deno.exit(1) in a comment is fine, and so is "Deno.env" in a string`,
      `export function flow(sql: Sql): unknown {`,
      `  return [proxyActivities, readFileSync, postgres, connect, z, helper, sql, Deno.cwd()];`,
      `}`,
    ].join("\n");
    const helper = `export const helper = (): string | undefined => Deno.env.get("HOME");\n`;
    await plant(root, "src/workflows/planted/flow.ts", flow);
    await plant(root, "src/workflows/planted/helper.ts", helper);
    const results = byCheck(await validate({ root, skipDb: true }));
    const rule = "workflow files may import values only from @temporalio/workflow and, by " +
      "relative path, other files under src/workflows/; use `import type` for types";
    const deno = "workflow code uses the Deno global: workflows must be deterministic and do " +
      "no I/O; move the work into an activity";
    assertEquals(linesOf(results.boundaries), [
      `src/workflows/planted/flow.ts:3:30: workflow code imports "node:fs": ${rule}`,
      `src/workflows/planted/flow.ts:4:22: workflow code imports "postgres": ${rule}`,
      `src/workflows/planted/flow.ts:5:25: workflow code imports "../../db/mod.ts", which ` +
      `resolves to src/db/mod.ts: ${rule}`,
      `src/workflows/planted/flow.ts:6:19: workflow code imports "npm:zod@4": ${rule}`,
      `src/workflows/planted/flow.ts:10:77: ${deno}`,
      `src/workflows/planted/helper.ts:1:49: ${deno}`,
    ]);
    assertEquals(where(flow, `"node:fs"`), "3:30");
    assertEquals(where(flow, "Deno.cwd"), "10:77");
  });
});

Deno.test("an `import type` from outside src/workflows/ is allowed in workflow code", async () => {
  await withCopy(async (root) => {
    await plant(
      root,
      "src/workflows/planted/typed.ts",
      `import type { Sql } from "../../db/mod.ts";\nexport type { DirectiveRow } from "../../models/mod.ts";\n` +
        `export function typed(sql: Sql): Sql {\n  return sql;\n}\n`,
    );
    const results = byCheck(await validate({ root, skipDb: true }));
    assertEquals(results.boundaries?.status, "ok", linesOf(results.boundaries).join("\n"));
    assert(results.boundaries?.summary.includes("in src/workflows/"));
  });
});

Deno.test("badly named, gapped and duplicated migrations are caught naming the file", async (t) => {
  const cases: [string, string, string][] = [
    [
      "a bad name",
      `${NEXT}_AddThing.sql`,
      `migrations/${NEXT}_AddThing.sql: name must match NNNN_snake_case.sql (e.g. 0001_initial.sql)`,
    ],
    [
      "a gap",
      `${AFTER_GAP}_after_gap.sql`,
      `migrations/${AFTER_GAP}_after_gap.sql: expected number ${NEXT} next, found ${AFTER_GAP} (numbers start at ` +
      "0001 with no gaps)",
    ],
    [
      "a duplicate number",
      "0001_again.sql",
      "migrations/0001_again.sql, migrations/0001_initial.sql: number 1 is used twice",
    ],
  ];
  for (const [name, file, expected] of cases) {
    await t.step(name, async () => {
      await withCopy(async (root) => {
        await Deno.writeTextFile(`${root}/migrations/${file}`, "SELECT 1;\n");
        const results = byCheck(await validate({ root, databaseUrl: adminUrl() }));
        assertEquals(results.migrations?.status, "failed");
        assertEquals(linesOf(results.migrations), [expected]);
        assertEquals(results.schema?.status, "skipped");
        assertEquals(results.boundaries?.status, "ok");
      });
    });
  }
  await t.step("the pure check flags a folder that does not start at 0001", () => {
    assertEquals(checkMigrationEntries(["0002_first.sql"]).violations.map(formatViolation), [
      "migrations/0002_first.sql: expected number 0001 next, found 0002 (numbers start at 0001 " +
      "with no gaps)",
    ]);
  });
});

Deno.test("schema drift in a planted migration is caught naming table.column and the model", async (t) => {
  const model = "src/models/directive_row.ts";
  const cases: [string, string, (modelText: string) => string][] = [
    [
      "an added column",
      "ALTER TABLE directives ADD COLUMN extra_note text;",
      (text) =>
        `${model}:${where(text, "export const DirectiveRow")}: directives.extra_note: the ` +
        `database has this column (text nullable) but the model does not`,
    ],
    [
      "a changed type",
      "ALTER TABLE directives ALTER COLUMN timebox_seconds TYPE bigint;",
      (text) =>
        `${model}:${where(text, "timebox_seconds:")}: directives.timebox_seconds: type differs: ` +
        `model says integer, database says bigint`,
    ],
    [
      "a dropped NOT NULL",
      "ALTER TABLE directives ALTER COLUMN objective DROP NOT NULL;",
      (text) =>
        `${model}:${where(text, "objective:")}: directives.objective: nullability differs: ` +
        `model says NOT NULL, database says nullable`,
    ],
  ];
  for (const [name, sql, expected] of cases) {
    await t.step(name, async () => {
      await withCopy(async (root) => {
        await Deno.writeTextFile(`${root}/migrations/${NEXT}_drift.sql`, `${sql}\n`);
        const results = byCheck(await validate({ root, databaseUrl: adminUrl() }));
        assertEquals(results.migrations?.status, "ok");
        assertEquals(results.schema?.status, "failed");
        const modelText = await Deno.readTextFile(`${root}/${model}`);
        assertEquals(linesOf(results.schema), [expected(modelText)]);
      });
    });
  }
  await t.step(
    "a migration that does not apply is a violation, and the scratch DB is dropped",
    async () => {
      await withCopy(async (root) => {
        await Deno.writeTextFile(
          `${root}/migrations/${NEXT}_drift.sql`,
          "ALTER TABLE nowhere ADD x int;\n",
        );
        const before = new Set(await keelValidateDatabases());
        const files = await readSourceFiles(root);
        const report = await checkSchemaDrift({
          root,
          databaseUrl: adminUrl(),
          tables: TABLES,
          locate: locateModels(files),
        });
        const lines = report.violations.map(formatViolation);
        assertEquals(lines.length, 1);
        assert(
          lines[0]?.startsWith(`migrations/${NEXT}_drift.sql: does not apply: `) &&
            lines[0].includes(`"nowhere" does not exist`),
          lines[0],
        );
        const leftover = (await keelValidateDatabases()).filter((n) => !before.has(n));
        assertEquals(leftover, []);
      });
    },
  );
});

Deno.test("the scratch database is dropped even when the check itself fails", async () => {
  // A model registry whose entry has no row schema makes the comparison throw after migrating.
  const broken = { directives: {} } as unknown as Record<string, TableModel>;
  const before = new Set(await keelValidateDatabases());
  let failed = false;
  try {
    await checkSchemaDrift({ root: REPO, databaseUrl: adminUrl(), tables: broken });
  } catch (error) {
    failed = error instanceof TypeError;
  }
  assert(failed, "the comparison should have thrown a TypeError");
  assertEquals((await keelValidateDatabases()).filter((n) => !before.has(n)), []);
});

Deno.test("compareCatalog reports tables and columns missing on either side", () => {
  const { directives } = TABLES;
  assert(directives);
  const rows: CatalogRow[] = Object.keys(directives.row.shape)
    .filter((column) => column !== "payload")
    .map((column) => ({
      table_name: "directives",
      column_name: column,
      type: "x",
      not_null: true,
    }));
  const onlyDirectives = { directives };
  // Types are all "x" here, so every present column also mismatches: check the other kinds.
  const problems = compareCatalog(
    [...rows, { table_name: "stray", column_name: "id", type: "uuid", not_null: true }],
    { ...onlyDirectives, ghost: directives },
  ).map(formatViolation);
  assert(
    problems.includes(
      "src/models/tables.ts: directives.payload: the model has this column (jsonb NOT NULL) but " +
        "the database does not",
    ),
    problems.join("\n"),
  );
  assert(problems.includes(
    "src/models/tables.ts: ghost: the model declares this table but the database has none",
  ));
  assert(problems.includes(
    "src/models/tables.ts: stray: the database has this table (1 column) but TABLES has no model for it",
  ));
  assert(problems.includes(
    "src/models/tables.ts: directives.id: type differs: model says uuid, database says x",
  ));
});

// LOG_TOKENS and LOG_STREAM are read by the yaml parser (the examples check).
const ENV_ALLOW = "MIGRATION_DATABASE_URL,DATABASE_URL,KEEL_LOG_LEVEL,PG*,LOG_TOKENS,LOG_STREAM";

async function run(args: string[], env: Record<string, string>) {
  const output = await new Deno.Command(Deno.execPath(), { args, cwd: REPO, env }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

Deno.test("the CLI, run with narrow permissions against a copy, exits 1 naming the violation", async () => {
  await withCopy(async (root) => {
    await plant(root, "src/policy/leak.ts", `import roles from "../../ai/roles.md";\n`);
    const result = await run([
      "run",
      `--allow-read=${root},${REPO}`,
      `--allow-env=${ENV_ALLOW}`,
      "--allow-net=127.0.0.1",
      "src/cli/validate.ts",
      "--root",
      root,
    ], { MIGRATION_DATABASE_URL: adminUrl() });
    assertEquals(result.code, 1, result.stderr);
    assert(
      result.stderr.includes(
        `src/policy/leak.ts:1:19: imports "../../ai/roles.md", which resolves to ai/roles.md`,
      ),
      result.stderr,
    );
    assert(result.stdout.includes("validate: boundaries: FAILED, 1 violation"), result.stdout);
    assert(
      result.stdout.includes(
        `validate: migrations: ${MIGRATION_COUNT} files, 0001 to ${pad(MIGRATION_COUNT)}`,
      ),
      result.stdout,
    );
    assert(
      new RegExp(`validate: schema: ${MIGRATION_COUNT} migrations applied .* match TABLES`).test(
        result.stdout,
      ),
      result.stdout,
    );
  });
});

Deno.test("`deno task validate` on the real repository exits 0 with one summary per check", async () => {
  const result = await run(["task", "validate"], { MIGRATION_DATABASE_URL: adminUrl() });
  assertEquals(result.code, 0, result.stderr + result.stdout);
  const summaries = result.stdout.split("\n").filter((line) => line.startsWith("validate: "));
  assertEquals(summaries.map((line) => line.split(":")[1]?.trim()), [
    "boundaries",
    "migrations",
    "schema",
    "json-schema",
    "contract",
    "examples",
    "module-permissions",
    "env",
  ]);
  assert(!result.stdout.includes("FAILED"), result.stdout);
  assert(
    result.stdout.includes(`validate: module-permissions: ${BUILTIN_MODULE_PERMISSIONS}`),
    result.stdout,
  );
});

Deno.test("the CLI exits 0 on --help and 2 on bad usage or an unreachable database", async () => {
  const base = ["run", `--allow-read=${REPO}`, `--allow-env=${ENV_ALLOW}`, "--allow-net=127.0.0.1"];
  const help = await run([...base, "src/cli/validate.ts", "--help"], {});
  assertEquals(help.code, 0);
  assert(help.stdout.includes("--skip-db") && help.stdout.includes("Exit codes: 0"), help.stdout);
  const bad = await run([...base, "src/cli/validate.ts", "--frobnicate"], {});
  assertEquals(bad.code, 2);
  assert(bad.stderr.includes("frobnicate"), bad.stderr);
  const down = await run([...base, "src/cli/validate.ts"], {
    MIGRATION_DATABASE_URL: "postgres://postgres@127.0.0.1:1/keel",
  });
  assertEquals(down.code, 2, down.stderr);
  assert(down.stderr.includes("Cannot create the scratch database"), down.stderr);
  const skipped = await run([...base, "src/cli/validate.ts", "--skip-db"], {
    MIGRATION_DATABASE_URL: "postgres://postgres@127.0.0.1:1/keel",
  });
  assertEquals(skipped.code, 0, skipped.stderr);
  assert(skipped.stdout.includes("validate: schema: skipped (--skip-db)"), skipped.stdout);
});

// ---- The directive contract: committed JSON Schema, written contract, examples ----

const BAD = "tests/fixtures/bad_directives";
// From the registry and the examples folder, never a fixed list: a fork adds modules and examples
// (docs/handoff.md) without editing this file.
const MODULE_TYPES = createRegistry(BUILTIN_MODULES).types();
const EXAMPLE_COUNT = (await readExampleFiles(REPO))?.length ?? 0;
/** The examples summary the real repository gives. */
const EXAMPLES_SUMMARY = `${EXAMPLE_COUNT} directive${EXAMPLE_COUNT === 1 ? "" : "s"} under ` +
  "examples/directives/ parse and pass the contract";
const CONTRACT = createDirectiveSchema({ moduleTypes: MODULE_TYPES });

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? "" : "s"}`;
const DECLARED_COUNT = BUILTIN_MODULES.reduce(
  (sum, module) =>
    sum + ["net", "read", "write", "env"].reduce(
      (n, kind) => n + (module.permissions[kind as "net"]?.length ?? 0),
      0,
    ),
  0,
);
/** The module-permissions summary the real repository gives. */
const BUILTIN_MODULE_PERMISSIONS = `${plural(BUILTIN_MODULES.length, "module")}, ` +
  `${plural(DECLARED_COUNT, "declared permission")}, all within the worker's set in deno.json`;

/** Like {@linkcode withCopy}, plus `docs/schemas/`, `examples/` and the bad directives. */
async function withFullCopy(fn: (root: string) => Promise<void>): Promise<void> {
  await withCopy(async (root) => {
    for (const dir of ["docs/schemas", "examples", BAD]) {
      await copyTree(`${REPO}/${dir}`, `${root}/${dir}`);
    }
    await fn(root);
  });
}

Deno.test("the real repository passes all eight checks, the directive contract ones included", async () => {
  const results = byCheck(await validate({ root: REPO, databaseUrl: adminUrl() }));
  const checks = [
    "boundaries",
    "migrations",
    "schema",
    "json-schema",
    "contract",
    "examples",
    "module-permissions",
    "env",
  ];
  assertEquals(Object.keys(results), checks);
  for (const check of checks) {
    assertEquals(results[check]?.status, "ok", `${check}: ${linesOf(results[check]).join("\n")}`);
  }
  assertEquals(
    results["json-schema"]?.summary,
    `${DIRECTIVE_SCHEMA_PATH} matches the zod contract (10 fields, type one of ` +
      `${MODULE_TYPES.join(", ")})`,
  );
  assertEquals(
    results.contract?.summary,
    `${CONTRACT_DOC_PATH} lists the 10 fields of the zod contract`,
  );
  assert(EXAMPLE_COUNT > 0, "the repository ships example directives");
  assertEquals(results.examples?.summary, EXAMPLES_SUMMARY);
  assertEquals(results["module-permissions"]?.summary, BUILTIN_MODULE_PERMISSIONS);
});

Deno.test("a stale or missing committed JSON Schema is caught at 1:1", async () => {
  await withFullCopy(async (root) => {
    assertEquals(byCheck(await validate({ root, skipDb: true }))["json-schema"]?.status, "ok");
    const file = `${root}/${DIRECTIVE_SCHEMA_PATH}`;
    const text = await Deno.readTextFile(file);
    await Deno.writeTextFile(file, text.replace('"maxLength": 4000', '"maxLength": 5000'));
    let results = byCheck(await validate({ root, skipDb: true }));
    assertEquals(results["json-schema"]?.status, "failed");
    assertEquals(linesOf(results["json-schema"]), [
      `${DIRECTIVE_SCHEMA_PATH}:1:1: the directive JSON Schema is stale: it differs from the zod ` +
      "contract in src/models/directive.ts; run `deno task schemas` and commit the result",
    ]);
    assertEquals(results.contract?.status, "ok");
    assertEquals(results.examples?.status, "ok");
    await Deno.remove(file);
    results = byCheck(await validate({ root, skipDb: true }));
    assertEquals(linesOf(results["json-schema"]), [
      `${DIRECTIVE_SCHEMA_PATH}:1:1: the directive JSON Schema is missing: run ` +
      "`deno task schemas` and commit the result",
    ]);
  });
});

Deno.test("a field the contract table lists but zod lacks, or the reverse, is caught", async () => {
  await withCopy(async (root) => {
    const file = `${root}/${CONTRACT_DOC_PATH}`;
    const original = await Deno.readTextFile(file);
    const text = original
      .replace("| `payload`         |", "| `payload_v2`      |")
      .replace(
        "| `idempotency_key` |",
        "| `priority`        | string | no | planted |\n| `idempotency_key` |",
      );
    assert(text !== original);
    await Deno.writeTextFile(file, text);
    const results = byCheck(await validate({ root, skipDb: true }));
    assertEquals(results.contract?.status, "failed");
    const fields = Object.keys(CONTRACT.shape).join(", ");
    assertEquals(linesOf(results.contract), [
      `${CONTRACT_DOC_PATH}:1:1: the zod contract has the field \`payload\` but the table does ` +
      "not list it",
      `${CONTRACT_DOC_PATH}:${where(text, "`payload_v2`")}: the table lists \`payload_v2\` but ` +
      `the zod contract has no such field (it has: ${fields})`,
      `${CONTRACT_DOC_PATH}:${where(text, "`priority`")}: the table lists \`priority\` but the ` +
      `zod contract has no such field (it has: ${fields})`,
    ]);
    assertEquals(where(text, "`priority`"), "19:3");
  });
});

Deno.test("checkContractFields reports a missing table, a bad first cell and a repeated field", () => {
  assertEquals(checkContractFields("# nothing here\n", ["type"]).violations.map(formatViolation), [
    `${CONTRACT_DOC_PATH}:1:1: no field table found: expected a Markdown table whose first ` +
    "column names each field of the directive contract in backticks",
  ]);
  const table = [
    "| field | meaning |",
    "| --- | --- |",
    "| `type` | x |",
    "| objective | no backticks |",
    "| `type` | again |",
    "",
    "| `not_a_field` | after the table: ignored |",
  ].join("\n");
  assertEquals(checkContractFields(table, ["type", "objective"]).violations.map(formatViolation), [
    `${CONTRACT_DOC_PATH}:1:1: the zod contract has the field \`objective\` but the table does ` +
    "not list it",
    `${CONTRACT_DOC_PATH}:4:1: the first column is not a field name in backticks: "objective"`,
    `${CONTRACT_DOC_PATH}:5:3: \`type\` is listed twice`,
  ]);
});

Deno.test("`--examples tests/fixtures/bad_directives` exits 1 naming each file at line:col and path", async () => {
  const result = await run([
    "run",
    `--allow-read=${REPO}`,
    `--allow-env=${ENV_ALLOW}`,
    "src/cli/validate.ts",
    "--skip-db",
    "--examples",
    BAD,
  ], {});
  assertEquals(result.code, 1, result.stderr);
  const lines = result.stderr.trim().split("\n");
  const expected = [
    `${BAD}/unknown_key.json:7:3: (document): Unrecognized key: "priority"`,
    `${BAD}/unregistered_type.yaml:1:1: type: must name a registered execution module ` +
    `(${MODULE_TYPES.join(", ")})`,
    `${BAD}/negative_budget.json:6:5: budget.amount: must be greater than zero`,
    `${BAD}/negative_budget.json:7:5: budget.currency: must be an ISO 4217 code of three ` +
    "capital letters, e.g. USD",
    `${BAD}/bad_timebox.yml:7:1: timebox: must be at most 86400 seconds (24h)`,
    `${BAD}/bad_timebox.yml:9:5: success_metrics[0]: must not be blank`,
    `${BAD}/malformed_timebox.json:6:3: timebox: must be whole seconds or a duration such as ` +
    "90s, 15m or 2h",
    `${BAD}/invalid_syntax.json:5:3: invalid JSON: Expected ',' or '}' after property value`,
    `${BAD}/payload_not_object.yaml:8:1: payload: Invalid input: expected record, received array`,
    `${BAD}/nul_escape.json:4:3: objective: must not contain NUL (U+0000)`,
    `${BAD}/nul_escape.json:7:3: payload: payload contains NUL (U+0000), which jsonb cannot store`,
  ];
  for (const line of expected) {
    assert(lines.includes(line), `missing "${line}" in:\n${result.stderr}`);
  }
  const yamlSyntax = lines.find((line) =>
    line.startsWith(`${BAD}/invalid_syntax.yaml:4:1: invalid YAML: `)
  );
  assert(yamlSyntax, result.stderr);
  // Every bad file is named, each with a line:col.
  for await (const entry of Deno.readDir(`${REPO}/${BAD}`)) {
    assert(
      lines.some((line) => new RegExp(`^${BAD}/${entry.name}:\\d+:\\d+: `).test(line)),
      `${entry.name} is not reported:\n${result.stderr}`,
    );
  }
  assert(lines.every((line) => /^tests\/fixtures\/bad_directives\/\S+:\d+:\d+: /.test(line)));
  assert(
    result.stdout.includes(`validate: examples: FAILED, ${lines.length} violations`),
    result.stdout,
  );
  assert(result.stdout.includes("validate: json-schema: docs/schemas/"), result.stdout);
  assert(result.stdout.includes("validate: contract: ai/runtime/"), result.stdout);
});

Deno.test("examples/directives validates with exit 0; a missing --examples folder exits 2", async () => {
  const base = ["run", `--allow-read=${REPO}`, `--allow-env=${ENV_ALLOW}`, "src/cli/validate.ts"];
  const good = await run([...base, "--skip-db", "--examples", "examples/directives"], {});
  assertEquals(good.code, 0, good.stderr);
  assertEquals(good.stderr.trim(), "");
  assert(good.stdout.includes(`validate: examples: ${EXAMPLES_SUMMARY}`), good.stdout);
  const missing = await run([...base, "--skip-db", "--examples", "examples/nowhere"], {});
  assertEquals(missing.code, 2, missing.stdout);
  assert(missing.stderr.includes(`"examples/nowhere" does not exist`), missing.stderr);
});

Deno.test("an example planted in a copy is checked recursively; a repo without examples skips", async () => {
  await withFullCopy(async (root) => {
    const text = [
      "type: echo",
      "issued_by: planted",
      "objective: nested",
      "budget:",
      "  amount: '1'",
      "  currency: USD",
      "timebox: 30",
      "scope:",
      "  - ok",
      '  - "\\0"',
      "idempotency_key: nested/one",
      "",
    ].join("\n");
    await plant(root, "examples/directives/team/nested.yml", text);
    await plant(root, "examples/directives/notes.txt", "not a directive\n");
    const results = byCheck(await validate({ root, skipDb: true }));
    assertEquals(linesOf(results.examples), [
      `examples/directives/team/nested.yml:10:5: scope[1]: must not contain NUL (U+0000)`,
    ]);
    await Deno.remove(`${root}/examples`, { recursive: true });
    const skipped = byCheck(await validate({ root, skipDb: true }));
    assertEquals(skipped.examples?.status, "skipped");
    assertEquals(skipped.examples?.summary, "skipped: no examples/directives/ folder");
  });
});

Deno.test("checkDirectiveExamples locates nested keys in JSON and falls back to the document", () => {
  const json = `{\n  "type": "noop",\n  "issued_by": "a",\n  "objective": "b",\n` +
    `  "budget": {"amount": "0", "currency": "USD"},\n  "idempotency_key": "k",\n` +
    `  "timebox": 1\n}\n`;
  const report = checkDirectiveExamples([{ path: "x.json", text: json }], CONTRACT);
  assertEquals(report.violations.map(formatViolation), [
    `x.json:${where(json, `"amount"`)}: budget.amount: must be greater than zero`,
  ]);
  const missing = checkDirectiveExamples(
    [{ path: "y.yaml", text: "type: noop\n" }, { path: "z.json", text: "[]" }],
    CONTRACT,
  );
  const lines = missing.violations.map(formatViolation);
  assert(
    lines.includes("y.yaml:1:1: issued_by: Invalid input: expected string, received undefined"),
  );
  assert(lines.includes("z.json:1:1: (document): Invalid input: expected object, received array"));
  assertEquals(missing.valid, 0);
  assertEquals(missing.files, 2);
  const dup = checkDirectiveExamples([{
    path: "d.json",
    text: `{"type": "noop",\n "type": "echo"}`,
  }], CONTRACT);
  assertEquals(dup.violations.map(formatViolation), [
    "d.json:2:2: invalid JSON: a key is repeated",
  ]);
});

// ---- Module permissions: what modules declare against the worker's set in deno.json ----

/** The message of a module-permissions violation for an uncovered value. */
function notHeld(type: string, kind: string, value: string, verb = "does not cover"): string {
  return `module "${type}" declares ${kind} ${value}, which \`permissions.worker.${kind}\` in ` +
    `deno.json ${verb} (a module's sandbox gets at most the worker's permissions): widen ` +
    "`permissions.worker` in deno.json or narrow the module's declaration";
}

const WORKER = {
  net: ["127.0.0.1", "postgres", "api.example.com:443", "*.internal.example"],
  read: [".", "/sys/fs/cgroup"],
  write: ["./.data/artifacts"],
  env: ["DATABASE_URL", "KEEL_*"],
  run: ["deno"],
};

Deno.test("checkModulePermissions accepts declarations the worker's set covers", () => {
  const modules: DeclaredModule[] = [
    {
      type: "covered",
      permissions: {
        // A port-less worker entry covers every port; host:port covers that port.
        net: ["127.0.0.1:8080", "postgres", "API.example.com:443", "db.internal.example:5432"],
        // "." covers the whole project; a parent directory covers its subpaths.
        read: ["./docs/schemas", "src/../migrations", "/sys/fs/cgroup/cpu.max"],
        write: ["./.data/artifacts", "./.data/artifacts/tmp/"],
        // KEEL_* is a prefix entry.
        env: ["DATABASE_URL", "KEEL_LOG_LEVEL", "KEEL_ARTIFACT_*"],
      },
    },
    { type: "quiet", permissions: {} },
  ];
  const report = checkModulePermissions(WORKER, modules, { root: "/repo" });
  assertEquals(report.violations.map(formatViolation), []);
  assertEquals(report.modules, 2);
  assertEquals(report.declared, 12);

  const everything = { net: true, read: true, write: { allow: true }, env: true };
  const wide: DeclaredModule = {
    type: "wide",
    permissions: { net: ["example.org"], read: ["/"], write: ["/tmp"], env: ["ANY*"] },
  };
  assertEquals(checkModulePermissions(everything, [wide], { root: "/repo" }).violations, []);
});

Deno.test("checkModulePermissions refuses an uncovered host, env name or path, at the declaration", () => {
  const text = [
    `export const leaky = defineModule({`,
    `  type: "leaky",`,
    `  permissions: {`,
    `    net: ["127.0.0.1", "api.example.com:8443", "api.example.com", "evil.example.org"],`,
    `    read: ["./src", "../elsewhere"],`,
    `    write: ["./.data/artifacts/ok", "./.data", "/tmp/out"],`,
    `    env: ["KEEL_LOG_LEVEL", "SECRET_TOKEN", "DATABASE_*"],`,
    `  },`,
    `});`,
  ].join("\n");
  const module: DeclaredModule = {
    type: "leaky",
    permissions: {
      net: ["127.0.0.1", "api.example.com:8443", "api.example.com", "evil.example.org"],
      read: ["./src", "../elsewhere"],
      write: ["./.data/artifacts/ok", "./.data", "/tmp/out"],
      env: ["KEEL_LOG_LEVEL", "SECRET_TOKEN", "DATABASE_*"],
    },
    path: "src/execution/modules/leaky.ts",
    text,
  };
  const report = checkModulePermissions(WORKER, [module], { root: "/repo" });
  const at = (needle: string) => `src/execution/modules/leaky.ts:${where(text, needle)}`;
  assertEquals(report.violations.map(formatViolation), [
    `${at(`"api.example.com:8443"`)}: ${notHeld("leaky", "net", `"api.example.com:8443"`)}`,
    // api.example.com:443 in the worker's set does not cover the host on every port.
    `${at(`"api.example.com"`)}: ${notHeld("leaky", "net", `"api.example.com"`)}`,
    `${at(`"evil.example.org"`)}: ${notHeld("leaky", "net", `"evil.example.org"`)}`,
    `${at(`"../elsewhere"`)}: ${notHeld("leaky", "read", `"../elsewhere" (/elsewhere)`)}`,
    // The worker may write ./.data/artifacts, not its parent.
    `${at(`"./.data"`)}: ${notHeld("leaky", "write", `"./.data" (/repo/.data)`)}`,
    `${at(`"/tmp/out"`)}: ${notHeld("leaky", "write", `"/tmp/out"`)}`,
    `${at(`"SECRET_TOKEN"`)}: ${notHeld("leaky", "env", `"SECRET_TOKEN"`)}`,
    // An exact worker name does not cover a declared prefix.
    `${at(`"DATABASE_*"`)}: ${notHeld("leaky", "env", `"DATABASE_*"`)}`,
  ]);
  assertEquals(report.declared, 12);
  assertEquals(where(text, `"SECRET_TOKEN"`), "7:29");

  // Without a source, the violation points at deno.json.
  const bare = checkModulePermissions({}, [{ type: "bare", permissions: { env: ["HOME"] } }], {
    root: "/repo",
  });
  assertEquals(bare.violations.map(formatViolation), [
    `deno.json: ${notHeld("bare", "env", `"HOME"`)}`,
  ]);
});

Deno.test("checkModulePermissions honours deny lists and reports a malformed or missing worker set", () => {
  const worker = {
    net: { allow: true, deny: ["evil.example.org"] },
    read: { allow: ["."], deny: ["./secrets"] },
    write: "./out",
    env: { allow: ["KEEL_*"], deny: ["KEEL_SECRET"] },
  };
  const module: DeclaredModule = {
    type: "probe",
    permissions: {
      net: ["good.example.org", "evil.example.org:443"],
      read: ["./docs", "./secrets/key"],
      write: ["./out"],
      env: ["KEEL_LOG_LEVEL", "KEEL_SECRET", "KEEL_*"],
    },
  };
  const workerAt = { path: "deno.json", line: 82, col: 5 };
  const report = checkModulePermissions(worker, [module], { root: "/repo", workerAt });
  assertEquals(report.violations.map(formatViolation), [
    "deno.json:82:5: `permissions.worker.write` in deno.json must be true, false, a list of " +
    `strings or { allow, deny }, found "./out"`,
    `deno.json: ${notHeld("probe", "net", `"evil.example.org:443"`, "denies")}`,
    `deno.json: ${notHeld("probe", "read", `"./secrets/key" (/repo/secrets/key)`, "denies")}`,
    `deno.json: ${notHeld("probe", "write", `"./out" (/repo/out)`)}`,
    `deno.json: ${notHeld("probe", "env", `"KEEL_SECRET"`, "denies")}`,
    // The prefix KEEL_* takes in the denied KEEL_SECRET.
    `deno.json: ${notHeld("probe", "env", `"KEEL_*"`, "denies")}`,
  ]);

  const missing = checkModulePermissions(undefined, [], { root: "/repo", workerAt });
  assertEquals(missing.violations.map(formatViolation), [
    "deno.json:82:5: deno.json has no `permissions.worker` permission set, which the worker " +
    "process runs with (`deno run -P=worker`); add one that holds what the modules declare",
  ]);
});

Deno.test("workerPermissionsOf reads deno.json with comments and trailing commas, at the set", () => {
  const text = [
    `{`,
    `  // the worker's set`,
    `  "tasks": { "worker": "deno run -P=worker src/worker.ts" },`,
    `  "permissions": {`,
    `    /* "worker": { "net": true } */`,
    `    "worker": { "net": ["127.0.0.1", "a//b",], "env": ["KEEL_*"] },`,
    `  },`,
    `}`,
  ].join("\n");
  const found = workerPermissionsOf({ path: "deno.json", text });
  assert("worker" in found);
  assertEquals(found.worker, { net: ["127.0.0.1", "a//b"], env: ["KEEL_*"] });
  assertEquals(found.at, { path: "deno.json", line: 6, col: 5 });

  const none = workerPermissionsOf({ path: "deno.jsonc", text: `{ "tasks": {} }` });
  assertEquals(none, { worker: undefined, at: { path: "deno.jsonc" } });

  const broken = workerPermissionsOf({ path: "deno.json", text: `{ "permissions": ` });
  assert("violation" in broken);
  assert(
    formatViolation(broken.violation).startsWith("deno.json:1:1: cannot parse deno.json: "),
    formatViolation(broken.violation),
  );
});

Deno.test("validate reports a module the real worker set does not cover at its declaration", async () => {
  const results = byCheck(
    await validate({ root: REPO, skipDb: true, modules: [...BUILTIN_MODULES, overreachModule] }),
  );
  const path = "tests/fixtures/validate_modules/overreach.ts";
  const text = await Deno.readTextFile(`${REPO}/${path}`);
  assertEquals(results["module-permissions"]?.status, "failed");
  // Covered by the real deno.json: 127.0.0.1:7233 (127.0.0.1), ./docs ("."),
  // ./.data/artifacts/tmp (./.data/artifacts) and KEEL_ARTIFACT_BUCKET (KEEL_ARTIFACT_*).
  assertEquals(linesOf(results["module-permissions"]), [
    `${path}:${where(text, `"api.example.com:443"`)}: ` +
    notHeld("overreach", "net", `"api.example.com:443"`),
    `${path}:${where(text, `"/etc/keel"`)}: ${notHeld("overreach", "read", `"/etc/keel"`)}`,
    `${path}:${where(text, `"./out"`)}: ` +
    notHeld("overreach", "write", `"./out" (${REPO}/out)`),
    `${path}:${where(text, `"SECRET_TOKEN"`)}: ${notHeld("overreach", "env", `"SECRET_TOKEN"`)}`,
  ]);
  assertEquals(results["module-permissions"]?.summary, "FAILED, 4 violations");
  assertEquals(results.boundaries?.status, "ok");
});

Deno.test("a copy whose deno.json narrows the worker's net fails at the module; no deno.json skips", async () => {
  await withCopy(async (root) => {
    const skipped = byCheck(await validate({ root, skipDb: true }))["module-permissions"];
    assertEquals(skipped?.status, "skipped");
    assertEquals(skipped?.summary, "skipped: no deno.json");

    const config = JSON.parse(await Deno.readTextFile(`${REPO}/deno.json`));
    config.permissions.worker.net = ["localhost"];
    await plant(root, "deno.json", JSON.stringify(config, null, 2));
    // http_request alone: other modules (llm_generate, a fork's own) declare hosts of their own.
    const results = byCheck(
      await validate({
        root,
        skipDb: true,
        modules: SHIPPED_MODULES.filter((m) => m.type === "http_request"),
      }),
    );
    const path = "src/execution/modules/http_request.ts";
    const text = await Deno.readTextFile(`${root}/${path}`);
    const declaration = text.indexOf('"127.0.0.1"', text.indexOf("permissions: {"));
    const line = text.slice(0, declaration).split("\n").length;
    const col = declaration - text.lastIndexOf("\n", declaration - 1);
    assertEquals(linesOf(results["module-permissions"]), [
      `${path}:${line}:${col}: ${notHeld("http_request", "net", `"127.0.0.1"`)}`,
    ]);
  });
});

// ---- The configuration's documents: .env.example and docs/configuration.md ----

/** Like {@linkcode withCopy}, plus the configuration's documents. */
async function withEnvCopy(fn: (root: string) => Promise<void>): Promise<void> {
  await withCopy(async (root) => {
    await copyTree(`${REPO}/docs`, `${root}/docs`);
    await Deno.copyFile(`${REPO}/.env.example`, `${root}/.env.example`);
    await fn(root);
  });
}

Deno.test("the CLI exits 1 when .env.example or a docs table drifts from src/config/, naming the variable", async () => {
  await withEnvCopy(async (root) => {
    const example = await Deno.readTextFile(`${root}/.env.example`);
    await Deno.writeTextFile(
      `${root}/.env.example`,
      example.replace("KEEL_LOG_LEVEL=info", "KEEL_LOG_LEVEL=debug").replace(
        /^# Identity the CLI records.*\nKEEL_ACTOR=cli\n/m,
        "",
      ) + "# Not read by anything.\nKEEL_GHOST=1\n",
    );
    const api = await Deno.readTextFile(`${root}/docs/api.md`);
    await Deno.writeTextFile(
      `${root}/docs/api.md`,
      api.replace(
        "| `KEEL_HTTP_PORT`               | `8080` ",
        "| `KEEL_HTTP_PORT`               | `8081` ",
      ),
    );
    const result = await run([
      "run",
      `--allow-read=${root},${REPO}`,
      `--allow-env=${ENV_ALLOW}`,
      "src/cli/validate.ts",
      "--root",
      root,
      "--skip-db",
    ], {});
    assertEquals(result.code, 1, result.stderr);
    const lines = result.stderr.split("\n");
    const has = (pattern: RegExp) => assert(lines.some((l) => pattern.test(l)), result.stderr);
    has(
      /^\.env\.example:\d+:1: KEEL_LOG_LEVEL: shows "KEEL_LOG_LEVEL=debug", src\/config\/ gives "KEEL_LOG_LEVEL=info"; run `deno task env:example`/,
    );
    has(/^\.env\.example: KEEL_ACTOR is declared in src\/config\/ but missing here/);
    has(/^\.env\.example:\d+:1: KEEL_GHOST is not declared in src\/config\//);
    has(
      /^docs\/api\.md:\d+:\d+: KEEL_HTTP_PORT: the table says its default is "8081", src\/config\/ says "8080"/,
    );
    assert(result.stdout.includes("validate: env: FAILED, 4 violations"), result.stdout);
  });
});
