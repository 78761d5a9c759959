/**
 * `deno task schemas`: the JSON Schema generated from the zod directive
 * contract is deterministic, complete, committed and fresh.
 */
import { assert, assertEquals } from "@std/assert";
import { BUILTIN_MODULES, createRegistry } from "../src/execution/registry.ts";
import { createDirectiveSchema } from "../src/models/directive.ts";
import {
  DIRECTIVE_SCHEMA_ID,
  DIRECTIVE_SCHEMA_PATH,
  directiveJsonSchema,
  directiveJsonSchemaText,
} from "../src/models/directive_json_schema.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const TYPES = createRegistry(BUILTIN_MODULES).types();
const FIELDS = Object.keys(createDirectiveSchema({ moduleTypes: TYPES }).shape);

type Schema = { [keyword: string]: unknown };

function at(schema: Schema, ...path: (string | number)[]): Schema {
  let node: unknown = schema;
  for (const key of path) node = (node as Record<string | number, unknown>)[key];
  assert(node !== null && typeof node === "object", `no schema at ${path.join(".")}`);
  return node as Schema;
}

async function run(args: string[], cwd = REPO) {
  const output = await new Deno.Command(Deno.execPath(), { args, cwd, env: { NO_COLOR: "1" } })
    .output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

Deno.test("the generated schema is deterministic, whatever the order of the module types", () => {
  const first = directiveJsonSchemaText(TYPES);
  assertEquals(directiveJsonSchemaText(TYPES), first);
  assertEquals(directiveJsonSchemaText([...TYPES].reverse()), first);
  assertEquals(JSON.stringify(directiveJsonSchema(TYPES), null, 2) + "\n", first);
  assert(first.endsWith("}\n") && !first.endsWith("\n\n"));
});

Deno.test("the schema is draft 2020-12 with its $id, title and description", () => {
  const schema = directiveJsonSchema(TYPES);
  assertEquals(schema.$schema, "https://json-schema.org/draft/2020-12/schema");
  assertEquals(schema.$id, DIRECTIVE_SCHEMA_ID);
  assertEquals(schema.$id, "https://keel.dev/schemas/directive.schema.json");
  assert(typeof schema.title === "string" && schema.title.length > 0);
  assert(typeof schema.description === "string" && schema.description.length > 0);
  assertEquals(Object.keys(schema).slice(0, 4), ["$schema", "$id", "title", "description"]);
  assertEquals(schema.type, "object");
  assertEquals(schema.additionalProperties, false);
});

Deno.test("the schema lists every contract field, in the contract's order, each described", () => {
  const schema = directiveJsonSchema(TYPES);
  const properties = at(schema, "properties");
  assertEquals(Object.keys(properties), FIELDS);
  for (const field of FIELDS) {
    assert(typeof at(properties, field).description === "string", `${field} has no description`);
  }
  assertEquals(
    [...(schema.required as string[])].sort(),
    ["budget", "idempotency_key", "issued_by", "objective", "timebox", "type"],
  );
});

Deno.test("`type` is an enum of exactly the registered module types", () => {
  const type = at(directiveJsonSchema(TYPES), "properties", "type");
  assertEquals(type.enum, [...TYPES]);
  assertEquals(type.enum, [...TYPES].sort());
  assertEquals(at(directiveJsonSchema(["zeta", "alpha"]), "properties", "type").enum, [
    "alpha",
    "zeta",
  ]);
});

Deno.test("the input side is described: durations and decimal strings are allowed, bounded", () => {
  const properties = at(directiveJsonSchema(TYPES), "properties");
  const timebox = at(properties, "timebox", "anyOf");
  assertEquals(timebox[0], { type: "integer", minimum: 1, maximum: 86_400 });
  assertEquals(at(timebox, 1).type, "string");
  const amount = at(properties, "budget", "properties", "amount", "anyOf");
  assertEquals(at(amount, 0).type, "string");
  assertEquals(at(amount, 1), { type: "number", exclusiveMinimum: 0 });
});

Deno.test("the committed schema is fresh", async () => {
  const committed = await Deno.readTextFile(`${REPO}/${DIRECTIVE_SCHEMA_PATH}`);
  assertEquals(committed, directiveJsonSchemaText(TYPES), "run `deno task schemas`");
});

Deno.test("`deno task schemas --check` passes on the repository with its permission set", async () => {
  const result = await run(["run", "-P=schemas", "src/cli/schemas.ts", "--check"]);
  assertEquals(result.code, 0, result.stderr);
  assert(result.stdout.includes(`${DIRECTIVE_SCHEMA_PATH} is fresh`), result.stdout);
  const task = await run(["task", "schemas", "--check"]);
  assertEquals(task.code, 0, task.stderr);
});

Deno.test("the permission set covers only ./docs/schemas of the repository", async () => {
  // Paths in deno.json permission sets are relative to deno.json, not to the working directory.
  const tmp = await Deno.makeTempDir({ prefix: "keel_schemas_test_" });
  try {
    await Deno.mkdir(`${tmp}/docs/schemas`, { recursive: true });
    const result = await run(
      ["run", `--config=${REPO}/deno.json`, "-P=schemas", `${REPO}/src/cli/schemas.ts`],
      tmp,
    );
    assertEquals(result.code, 2, result.stdout);
    assert(result.stderr.includes("Requires read access"), result.stderr);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("against a copy, --check fails on a stale or missing file and the task rewrites it", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "keel_schemas_test_" });
  const dir = `${tmp}/docs/schemas`;
  const file = `${tmp}/${DIRECTIVE_SCHEMA_PATH}`;
  const cli = (...args: string[]) =>
    run([
      "run",
      `--allow-read=${dir}`,
      `--allow-write=${dir}`,
      "src/cli/schemas.ts",
      "--root",
      tmp,
      ...args,
    ]);
  try {
    await Deno.mkdir(dir, { recursive: true });
    await Deno.copyFile(`${REPO}/${DIRECTIVE_SCHEMA_PATH}`, file);
    assertEquals((await cli("--check")).code, 0);

    const fresh = await Deno.readTextFile(file);
    await Deno.writeTextFile(file, fresh.replace(`"noop"`, `"noop",\n        "retired"`));
    const stale = await cli("--check");
    assertEquals(stale.code, 1, stale.stdout);
    assert(stale.stderr.includes("is stale"), stale.stderr);
    assert(stale.stderr.includes("run `deno task schemas`"), stale.stderr);

    const written = await cli();
    assertEquals(written.code, 0, written.stderr);
    assert(written.stdout.includes(`wrote ${tmp}/${DIRECTIVE_SCHEMA_PATH}`), written.stdout);
    assertEquals(await Deno.readTextFile(file), fresh);
    assertEquals((await cli("--check")).code, 0);

    await Deno.remove(file);
    const missing = await cli("--check");
    assertEquals(missing.code, 1);
    assert(missing.stderr.includes("is missing"), missing.stderr);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("the schemas CLI exits 0 on --help and 2 on bad usage", async () => {
  const help = await run(["run", "-P=schemas", "src/cli/schemas.ts", "--help"]);
  assertEquals(help.code, 0);
  assert(help.stdout.includes("--check") && help.stdout.includes("Exit codes"), help.stdout);
  const bad = await run(["run", "-P=schemas", "src/cli/schemas.ts", "--frobnicate"]);
  assertEquals(bad.code, 2);
  assert(bad.stderr.includes("frobnicate"), bad.stderr);
});
