import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { fileURLToPath } from "node:url";
import { BUILTIN_MODULES, createRegistry } from "../execution/registry.ts";
import { createDirectiveSchema } from "../models/directive.ts";
import type { PolicyConfig } from "../policy/mod.ts";
import { type ExampleFile, EXAMPLES_DIR, readExampleFiles } from "./directive_examples.ts";
import {
  checkExampleVerdicts,
  EXPECTED_VERDICTS_PATH,
  parseExpectedVerdicts,
  readDefaultPolicy,
  readExpectedVerdicts,
} from "./example_verdicts.ts";
import { formatViolation } from "./violation.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const registry = createRegistry(BUILTIN_MODULES);
const schema = createDirectiveSchema({ moduleTypes: registry.types() });

async function shipped() {
  const files = await readExampleFiles(ROOT);
  const expectations = await readExpectedVerdicts(ROOT);
  const policy = await readDefaultPolicy(ROOT);
  assert(files && expectations !== undefined, "the examples and their expectations exist");
  assert(policy !== undefined && !("message" in policy), "policies/default.json loads");
  return { files, expectations, policy: policy as PolicyConfig };
}

function check(files: readonly ExampleFile[], expectations: string, policy: PolicyConfig) {
  const { violations, decided } = checkExampleVerdicts({
    files,
    dir: EXAMPLES_DIR,
    expectations,
    policy,
    schema,
    moduleOf: (type) => registry.find(type),
  });
  return { lines: violations.map(formatViolation), decided };
}

Deno.test("every shipped example states its verdict and gets it from the default policy", async () => {
  const { files, expectations, policy } = await shipped();
  const { entries, violations } = parseExpectedVerdicts(expectations);
  assertEquals(violations, []);
  assertEquals([...entries.keys()].sort(), files.map((f) => f.path).sort());
  assertEquals(check(files, expectations, policy), { lines: [], decided: files.length });
});

Deno.test("an example whose verdict differs is named with the verdict it got and why", async () => {
  const { files, expectations, policy } = await shipped();
  const euro = files.map((file) =>
    file.path.endsWith("/echo.yaml")
      ? { ...file, text: file.text.replace("currency: USD", "currency: EUR") }
      : file
  );
  const { lines, decided } = check(euro, expectations, policy);
  assertEquals(decided, files.length);
  assertEquals(lines.length, 1, lines.join("\n"));
  assertStringIncludes(
    lines[0]!,
    "examples/directives/echo.yaml:1:1: policies/default.json decides BLOCK by rule budget_ceiling",
  );
  assertStringIncludes(lines[0]!, "no currency conversion");
  assertStringIncludes(lines[0]!, "expects ALLOW, approved by a person");
  // Auto-approval is part of the verdict: a person's approval is not the policy's.
  const flipped = expectations.replace(
    "noop.json: { verdict: ALLOW, approval: policy }",
    "noop.json: { verdict: ALLOW, approval: person }",
  );
  assertEquals(check(files, flipped, policy).lines.map((l) => l.split(":")[0]), [
    "examples/directives/noop.json",
  ]);
});

Deno.test("a BLOCK expectation holds when the named rule blocks, and only then", async () => {
  const { policy } = await shipped();
  const denied: ExampleFile = {
    path: `${EXAMPLES_DIR}/denied.json`,
    text: JSON.stringify({
      type: "noop",
      issued_by: "a@example.com",
      objective: "Touch production",
      scope: ["production"],
      budget: { amount: "0.01", currency: "USD" },
      timebox: 60,
      idempotency_key: "example/denied",
    }),
  };
  const expect = (rule: string) => `${EXAMPLES_DIR}/denied.json: { verdict: BLOCK, rule: ${rule} }`;
  assertEquals(check([denied], expect("scope_deny"), policy).lines, []);
  const [line] = check([denied], expect("max_timebox"), policy).lines;
  assertStringIncludes(line ?? "", "decides BLOCK by rule scope_deny");
  assertStringIncludes(line ?? "", "expects BLOCK by rule max_timebox");
});

Deno.test("entries that name no example or state no verdict are violations at their line", async () => {
  const { files, policy } = await shipped();
  const text = [
    "# comment",
    `${EXAMPLES_DIR}/gone.json: { verdict: ALLOW, approval: policy }`,
    `${EXAMPLES_DIR}/noop.json: { verdict: MAYBE }`,
    `${EXAMPLES_DIR}/echo.yaml: { verdict: ALLOW, approval: person, extra: 1 }`,
    "",
  ].join("\n");
  const { lines, decided } = check(files, text, policy);
  assertEquals(decided, 0);
  assertEquals(lines.map((l) => l.split(": ")[0]), [
    `${EXPECTED_VERDICTS_PATH}:3:1`,
    `${EXPECTED_VERDICTS_PATH}:4:1`,
    `${EXPECTED_VERDICTS_PATH}:2:1`,
  ]);
  assertStringIncludes(lines[2]!, `"${EXAMPLES_DIR}/gone.json" is not an example directive`);
  assertStringIncludes(lines[0]!, "write {verdict: ALLOW, approval: policy|person}");
  const notYaml = check(files, "a: [", policy).lines;
  assertEquals(notYaml.length, 1);
  assertStringIncludes(notYaml[0]!, "invalid YAML");
});
