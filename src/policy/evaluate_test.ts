import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import fc from "fast-check";
import { fileURLToPath } from "node:url";
import {
  createDirectiveSchema,
  type DirectiveDocument,
  type DirectiveInput,
} from "../models/mod.ts";
import type { Budget } from "./budget.ts";
import {
  loadPolicy,
  parsePolicy,
  type PolicyConfig,
  PolicyConfigError,
  type PolicyDocument,
} from "./config.ts";
import { evaluatePolicy, POLICY_RULES, type PolicyDecision, type PolicyRule } from "./evaluate.ts";

/** Runs per property; each property test's name repeats it. */
const RUNS = 500;

const TYPES = ["noop", "echo", "fail_intentionally"] as const;
const schema = createDirectiveSchema({ moduleTypes: TYPES });
const DEFAULT_PATH = fileURLToPath(new URL("../../policies/default.json", import.meta.url));

const DEFAULT_DOC: PolicyDocument = {
  name: "default",
  version: "2026.11.28-1",
  allowed_types: ["noop", "echo", "fail_intentionally"],
  max_timebox_seconds: 3600,
  budget_ceilings: { noop: "1 USD", echo: "$10.00", fail_intentionally: "10 USD" },
  required_fields: { echo: ["success_metrics", "payload.message"] },
  scope_deny: ["production", "secrets/*"],
  auto_approve_types: ["noop"],
  approval_timeout_seconds: 86400,
};
const DEFAULT = parsePolicy(DEFAULT_DOC, "test:default");

function policy(overrides: Partial<PolicyDocument>): PolicyConfig {
  return parsePolicy({ ...DEFAULT_DOC, ...overrides }, "test:policy");
}

const BASE_DOC: DirectiveDocument = {
  type: "echo",
  issued_by: "policy-test",
  objective: "say hello",
  scope: ["staging"],
  success_metrics: ["the message is echoed"],
  budget: { amount: "5.00", currency: "USD" },
  timebox: 600,
  payload: { message: "hello" },
  idempotency_key: "policy-test-1",
};

function directive(overrides: Partial<DirectiveDocument> = {}): DirectiveInput {
  return schema.parse({ ...BASE_DOC, ...overrides });
}

function assertBlocked(decision: PolicyDecision, rule: PolicyRule, reason: string): void {
  assertEquals(
    { verdict: decision.verdict, rule: decision.rule, reason: decision.reason },
    { verdict: "BLOCK", rule, reason },
  );
  assertEquals(decision.auto_approve, false);
}

// ---- the default policy file ----

Deno.test("loadPolicy reads policies/default.json as documented", async () => {
  const loaded = await loadPolicy(DEFAULT_PATH);
  // The file is DEFAULT_DOC plus http_request and llm_generate, which reach the net.
  assertEquals(
    loaded,
    parsePolicy({
      ...DEFAULT_DOC,
      version: loaded.version,
      allowed_types: [...DEFAULT_DOC.allowed_types, "http_request", "llm_generate"],
      budget_ceilings: {
        ...DEFAULT_DOC.budget_ceilings,
        http_request: "1 USD",
        llm_generate: "5 USD",
      },
      required_fields: {
        ...DEFAULT_DOC.required_fields,
        http_request: ["payload.url"],
        llm_generate: ["payload.prompt"],
      },
      net_allow: { http_request: ["127.0.0.1"], llm_generate: ["api.anthropic.com:443"] },
    }, "test:default file"),
  );
  assertEquals(loaded.budget_ceilings, {
    noop: { amount: "1", currency: "USD" },
    echo: { amount: "10.00", currency: "USD" },
    fail_intentionally: { amount: "10", currency: "USD" },
    http_request: { amount: "1", currency: "USD" },
    llm_generate: { amount: "5", currency: "USD" },
  });
  assertEquals(loaded.auto_approve_types, ["noop"]);
});

Deno.test("loadPolicy names the file when it is missing or not JSON", async () => {
  const missing = await assertRejects(
    () => loadPolicy("/nonexistent/policy.json"),
    PolicyConfigError,
  );
  assertStringIncludes(missing.message, `Cannot load policy "/nonexistent/policy.json"`);
  assertEquals(missing.name, "PolicyConfigError");
  assert(missing.cause instanceof Deno.errors.NotFound);

  const file = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(file, "{ not json");
    const bad = await assertRejects(() => loadPolicy(file), PolicyConfigError);
    assertStringIncludes(bad.message, `Cannot load policy "${file}": it is not valid JSON`);
    assert(bad.cause instanceof SyntaxError);

    await Deno.writeTextFile(file, JSON.stringify({ ...DEFAULT_DOC, version: "" }));
    const invalid = await assertRejects(() => loadPolicy(file), PolicyConfigError);
    assertStringIncludes(
      invalid.message,
      `Cannot parse policy "${file}": $.version must not be empty`,
    );
    assertEquals(invalid.source, file);
  } finally {
    await Deno.remove(file);
  }
});

// ---- one test per rule ----

Deno.test("ALLOW: a directive within every rule, needing approval", () => {
  const decision = evaluatePolicy(directive(), DEFAULT);
  assertEquals(decision, {
    verdict: "ALLOW",
    rule: "ok",
    reason: `all rules passed under policy "default" version 2026.11.28-1; ` +
      `approval required within 86400s`,
    policy_name: "default",
    policy_version: "2026.11.28-1",
    auto_approve: false,
    approval_timeout_seconds: 86400,
    approvals_required: 1,
    separate_submitter: true,
  });
});

Deno.test("ALLOW + auto_approve: a noop within its ceiling", () => {
  const decision = evaluatePolicy(
    directive({ type: "noop", budget: { amount: "1", currency: "USD" } }),
    DEFAULT,
  );
  assertEquals(decision.verdict, "ALLOW");
  assertEquals(decision.auto_approve, true);
  assertEquals(
    decision.reason,
    `all rules passed under policy "default" version 2026.11.28-1; type "noop" is auto-approved`,
  );
});

Deno.test("BLOCK allowed_types: a type the policy does not allow", () => {
  const narrow = policy({
    allowed_types: ["noop", "echo"],
    budget_ceilings: { noop: "1 USD", echo: "$10.00" },
  });
  assertBlocked(
    evaluatePolicy(directive({ type: "fail_intentionally" }), narrow),
    "allowed_types",
    `type "fail_intentionally" is not in the allowed types (noop, echo)`,
  );
});

Deno.test("BLOCK budget_ceiling: a budget above the type's ceiling", () => {
  assertBlocked(
    evaluatePolicy(directive({ budget: { amount: "12.00", currency: "USD" } }), DEFAULT),
    "budget_ceiling",
    "budget 12.00 USD exceeds the echo ceiling 10.00 USD",
  );
  assertBlocked(
    evaluatePolicy(directive({ budget: { amount: "10.0001", currency: "USD" } }), DEFAULT),
    "budget_ceiling",
    "budget 10.0001 USD exceeds the echo ceiling 10.00 USD",
  );
  // Equal to the ceiling, at another scale, is allowed.
  assertEquals(
    evaluatePolicy(directive({ budget: { amount: 10, currency: "USD" } }), DEFAULT).verdict,
    "ALLOW",
  );
});

Deno.test("BLOCK budget_ceiling: a budget in another currency (no conversion)", () => {
  assertBlocked(
    evaluatePolicy(directive({ budget: { amount: "1", currency: "EUR" } }), DEFAULT),
    "budget_ceiling",
    "budget 1 EUR is in EUR but the echo ceiling 10.00 USD is in USD (no currency conversion)",
  );
});

Deno.test("BLOCK budget_ceiling: a hand-built policy missing a ceiling fails closed", () => {
  const broken: PolicyConfig = {
    ...DEFAULT,
    budget_ceilings: { noop: DEFAULT.budget_ceilings.noop! },
  };
  assertBlocked(
    evaluatePolicy(directive(), broken),
    "budget_ceiling",
    `type "echo" has no budget ceiling, so no budget is allowed`,
  );
});

Deno.test("BLOCK max_timebox: a timebox above the maximum; equal is allowed", () => {
  assertBlocked(
    evaluatePolicy(directive({ timebox: "2h" }), DEFAULT),
    "max_timebox",
    "timebox 7200s exceeds the maximum 3600s",
  );
  assertEquals(evaluatePolicy(directive({ timebox: "60m" }), DEFAULT).verdict, "ALLOW");
});

Deno.test("BLOCK required_fields: an empty top-level list", () => {
  assertBlocked(
    evaluatePolicy(directive({ success_metrics: [] }), DEFAULT),
    "required_fields",
    `required field "success_metrics" is missing or empty for type "echo"`,
  );
});

Deno.test("BLOCK required_fields: a payload path missing, null or empty", () => {
  const cases: Record<string, unknown>[] = [
    {},
    { message: null },
    { message: "" },
    { message: "   " },
    { message: [] },
    { message: {} },
    { other: "hello" },
  ];
  for (const payload of cases) {
    assertBlocked(
      evaluatePolicy(directive({ payload }), DEFAULT),
      "required_fields",
      `required field "payload.message" is missing or empty for type "echo"`,
    );
  }
  for (const message of [0, false, "x", [""], { a: null }]) {
    assertEquals(
      evaluatePolicy(directive({ payload: { message } }), DEFAULT).verdict,
      "ALLOW",
      JSON.stringify(message),
    );
  }
});

Deno.test("required_fields walks nested objects and array indexes by own keys only", () => {
  const nested = policy({
    required_fields: { echo: ["payload.target.host", "payload.items.1", "objective"] },
  });
  const ok = { target: { host: "a.example" }, items: ["x", "y"] };
  assertEquals(evaluatePolicy(directive({ payload: ok }), nested).verdict, "ALLOW");
  assertEquals(
    evaluatePolicy(directive({ payload: { ...ok, items: ["x"] } }), nested).reason,
    `required field "payload.items.1" is missing or empty for type "echo"`,
  );
  assertEquals(
    evaluatePolicy(directive({ payload: { ...ok, target: "a.example" } }), nested).reason,
    `required field "payload.target.host" is missing or empty for type "echo"`,
  );
  const inherited = policy({ required_fields: { echo: ["payload.toString"] } });
  assertEquals(
    evaluatePolicy(directive(), inherited).reason,
    `required field "payload.toString" is missing or empty for type "echo"`,
  );
});

Deno.test("a type named like an Object.prototype key is looked up by own keys only", () => {
  const odd = createDirectiveSchema({ moduleTypes: ["constructor"] })
    .parse({ ...BASE_DOC, type: "constructor" });
  const allowing = policy({
    allowed_types: ["constructor"],
    budget_ceilings: { constructor: "10 USD" },
    required_fields: {},
    auto_approve_types: [],
  });
  assertEquals(evaluatePolicy(odd, allowing).verdict, "ALLOW");
  assertBlocked(
    evaluatePolicy(odd, DEFAULT),
    "allowed_types",
    `type "constructor" is not in the allowed types (noop, echo, fail_intentionally)`,
  );
});

Deno.test("BLOCK scope_deny: exact entries and /* prefixes, ignoring case", () => {
  const denied: [item: string, entry: string][] = [
    ["production", "production"],
    ["PRODUCTION", "production"],
    ["secrets", "secrets/*"],
    ["secrets/db", "secrets/*"],
    ["Secrets/a/b", "secrets/*"],
  ];
  for (const [item, entry] of denied) {
    assertBlocked(
      evaluatePolicy(directive({ scope: ["staging", item] }), DEFAULT),
      "scope_deny",
      `scope item ${JSON.stringify(item)} is denied by scope_deny entry ${JSON.stringify(entry)}`,
    );
  }
  for (
    const item of ["production-eu", "production/x", "secretsauce", " production", "my/secrets/x"]
  ) {
    assertEquals(evaluatePolicy(directive({ scope: [item] }), DEFAULT).verdict, "ALLOW", item);
  }
});

// ---- order and auto-approve ----

Deno.test("rules are checked in the documented order; the first failure blocks", () => {
  assertEquals(POLICY_RULES, [
    "allowed_types",
    "budget_ceiling",
    "max_timebox",
    "required_fields",
    "scope_deny",
  ]);
  const narrow = policy({
    allowed_types: ["noop", "fail_intentionally"],
    budget_ceilings: { noop: "1 USD", fail_intentionally: "10 USD" },
    required_fields: {},
  });
  const worst: Partial<DirectiveDocument> = {
    budget: { amount: "99", currency: "USD" },
    timebox: "5h",
    success_metrics: [],
    scope: ["production"],
  };
  assertEquals(evaluatePolicy(directive(worst), narrow).rule, "allowed_types");
  const steps: [Partial<DirectiveDocument>, PolicyRule][] = [
    [worst, "budget_ceiling"],
    [{ ...worst, budget: { amount: "9", currency: "USD" } }, "max_timebox"],
    [{ ...worst, budget: { amount: "9", currency: "USD" }, timebox: 60 }, "required_fields"],
    [
      { ...worst, budget: { amount: "9", currency: "USD" }, timebox: 60, success_metrics: ["m"] },
      "scope_deny",
    ],
    [
      {
        ...worst,
        budget: { amount: "9", currency: "USD" },
        timebox: 60,
        success_metrics: ["m"],
        scope: [],
      },
      "ok",
    ],
  ];
  for (const [overrides, rule] of steps) {
    assertEquals(evaluatePolicy(directive(overrides), DEFAULT).rule, rule);
  }
});

Deno.test("auto_approve is false on BLOCK even for an auto-approve type", () => {
  const decision = evaluatePolicy(
    directive({ type: "noop", budget: { amount: "2", currency: "USD" } }),
    DEFAULT,
  );
  assertEquals([decision.verdict, decision.auto_approve], ["BLOCK", false]);
  assertEquals(decision.approval_timeout_seconds, 86400);
});

// ---- config rejections ----

function configError(doc: unknown): PolicyConfigError {
  const error = assertThrows(() => parsePolicy(doc, "test.json"), PolicyConfigError);
  assertEquals(error.name, "PolicyConfigError");
  assertEquals(error.source, "test.json");
  assertStringIncludes(error.message, `Cannot parse policy "test.json": `);
  assert(error.cause !== undefined);
  return error;
}

Deno.test("config: an unknown key is refused", () => {
  const error = configError({ ...DEFAULT_DOC, auto_aprove_types: ["noop"] });
  assertEquals(error.issues, [{ path: "$", message: `has unknown key "auto_aprove_types"` }]);
});

Deno.test("config: a bad ceiling string names its path and the budget problem", () => {
  const error = configError({
    ...DEFAULT_DOC,
    budget_ceilings: { ...DEFAULT_DOC.budget_ceilings, echo: "¥10" },
  });
  assertEquals(error.issues.map((issue) => issue.path), ["$.budget_ceilings.echo"]);
  assertStringIncludes(
    error.message,
    `$.budget_ceilings.echo Cannot parse budget "¥10": "¥" is ambiguous`,
  );
});

Deno.test("config: auto_approve_types must be a subset of allowed_types", () => {
  const error = configError({ ...DEFAULT_DOC, auto_approve_types: ["noop", "deploy"] });
  assertEquals(error.issues, [{
    path: "$.auto_approve_types[1]",
    message: `names "deploy", which is not in allowed_types; ` +
      `auto_approve_types must be a subset of allowed_types`,
  }]);
});

Deno.test("config: every allowed type needs a ceiling, and every ceiling an allowed type", () => {
  const missing = configError({
    ...DEFAULT_DOC,
    budget_ceilings: { noop: "1 USD", fail_intentionally: "10 USD" },
  });
  assertEquals(missing.issues, [{
    path: "$.budget_ceilings",
    message: `has no ceiling for allowed type "echo"; every allowed type needs one`,
  }]);
  const extra = configError({
    ...DEFAULT_DOC,
    budget_ceilings: { ...DEFAULT_DOC.budget_ceilings, deploy: "5 USD" },
  });
  assertEquals(extra.issues.map((issue) => issue.path), ["$.budget_ceilings.deploy"]);
});

Deno.test("config: field-level rejections name their JSON paths", () => {
  const cases: [doc: unknown, path: string, text: string][] = [
    [{ ...DEFAULT_DOC, version: undefined }, "$.version", ""],
    [{ ...DEFAULT_DOC, allowed_types: [] }, "$.allowed_types", "at least one"],
    [
      { ...DEFAULT_DOC, allowed_types: ["noop", "echo", "echo", "fail_intentionally"] },
      "$.allowed_types[2]",
      `repeats "echo"`,
    ],
    [{ ...DEFAULT_DOC, allowed_types: ["Noop"] }, "$.allowed_types[0]", "snake_case"],
    [{ ...DEFAULT_DOC, max_timebox_seconds: 90000 }, "$.max_timebox_seconds", "at most 86400"],
    [{ ...DEFAULT_DOC, max_timebox_seconds: 1.5 }, "$.max_timebox_seconds", "whole number"],
    [{ ...DEFAULT_DOC, approval_timeout_seconds: 0 }, "$.approval_timeout_seconds", "at least 1"],
    [{ ...DEFAULT_DOC, scope_deny: ["prod*"] }, "$.scope_deny[0]", `"*" only as a final "/*"`],
    [
      { ...DEFAULT_DOC, required_fields: { echo: ["budget.amount"] } },
      "$.required_fields.echo[0]",
      "only payload paths",
    ],
    [
      { ...DEFAULT_DOC, required_fields: { echo: ["payload..x"] } },
      "$.required_fields.echo[0]",
      "empty segment",
    ],
    [
      { ...DEFAULT_DOC, required_fields: { echo: ["owner"] } },
      "$.required_fields.echo[0]",
      "must start with a directive field",
    ],
    [
      { ...DEFAULT_DOC, required_fields: { deploy: ["objective"] } },
      "$.required_fields.deploy",
      "not in allowed_types",
    ],
    [{ ...DEFAULT_DOC, name: "has space" }, "$.name", "letters, digits"],
    ["not an object", "$", ""],
  ];
  for (const [doc, path, text] of cases) {
    const error = configError(doc);
    const issue = error.issues.find((candidate) => candidate.path === path);
    assert(issue, `expected an issue at ${path}, got ${JSON.stringify(error.issues)}`);
    assertStringIncludes(issue.message, text);
    assertStringIncludes(error.message, `${path} `);
  }
});

// ---- properties ----

const CURRENCIES = ["USD", "EUR", "GBP"] as const;
const SCOPE_POOL = [
  "staging",
  "production",
  "Production",
  "production-eu",
  "secrets",
  "secrets/db",
  "Secrets/x/y",
  "secretsauce",
  "dev/tools",
  "public",
  "PUBLIC",
];
const DENY_POOL = ["production", "secrets/*", "dev/*", "PUBLIC", "staging/*"];
const PATH_POOL = [
  "success_metrics",
  "objective",
  "constraints",
  "scope",
  "payload",
  "payload.message",
  "payload.target.host",
  "payload.items.0",
];

/** Canonical decimal text: up to 12 integer digits (room to raise), 0–4 places, > 0. */
const amountText = fc.tuple(
  fc.bigInt({ min: 0n, max: 999_999_999_999n }),
  fc.option(fc.stringMatching(/^\d{1,4}$/), { nil: undefined }),
).filter(([integer, fraction]) => integer > 0n || /[1-9]/.test(fraction ?? ""))
  .map(([integer, fraction]) => fraction === undefined ? `${integer}` : `${integer}.${fraction}`);

const smallJson = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.constantFrom("", " "),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 }),
);

const payloadArb = fc.record({
  message: smallJson,
  target: fc.oneof(fc.record({ host: smallJson }), smallJson),
  items: fc.array(smallJson, { maxLength: 3 }),
  extra: smallJson,
}, { requiredKeys: [] });

/** Text the contract accepts: not blank (the contract refuses blank text). */
function nonBlank(maxLength: number): fc.Arbitrary<string> {
  return fc.string({ minLength: 1, maxLength }).filter((text) => text.trim().length > 0);
}

const directiveArb: fc.Arbitrary<DirectiveInput> = fc.record({
  type: fc.constantFrom(...TYPES),
  issued_by: nonBlank(20),
  objective: nonBlank(40),
  scope: fc.array(
    fc.oneof(fc.constantFrom(...SCOPE_POOL), nonBlank(12)),
    {
      maxLength: 4,
    },
  ),
  constraints: fc.array(nonBlank(12), { maxLength: 3 }),
  success_metrics: fc.array(nonBlank(12), { maxLength: 3 }),
  budget: fc.record({
    amount: fc.oneof(amountText, fc.integer({ min: 1, max: 100 })),
    currency: fc.constantFrom(...CURRENCIES),
  }),
  timebox: fc.oneof(
    fc.integer({ min: 1, max: 86_400 }),
    fc.integer({ min: 1, max: 1440 }).map((n) => `${n}m`),
    fc.integer({ min: 1, max: 24 }).map((n) => `${n}h`),
  ),
  payload: payloadArb,
  idempotency_key: fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,20}$/),
}).map((doc) => schema.parse(doc));

/** A ceiling written in one of the accepted forms. */
const ceilingText = fc.tuple(amountText, fc.constantFrom(...CURRENCIES), fc.nat(3)).map(
  ([amount, currency, form]) => {
    const symbol = { USD: "$", EUR: "€", GBP: "£" }[currency];
    return [
      `${amount} ${currency}`,
      `${currency} ${amount}`,
      `${symbol}${amount}`,
      `${amount}${currency.toLowerCase()}`,
    ][form]!;
  },
);

const policyArb: fc.Arbitrary<PolicyConfig> = fc.record({
  name: fc.constantFrom("default", "strict", "p-1"),
  version: fc.stringMatching(/^20\d\d\.\d\d\.\d\d-\d$/),
  allowed_types: fc.shuffledSubarray([...TYPES], { minLength: 1 }),
  max_timebox_seconds: fc.integer({ min: 1, max: 86_400 }),
  ceilings: fc.tuple(ceilingText, ceilingText, ceilingText),
  required: fc.tuple(
    fc.subarray(PATH_POOL, { maxLength: 3 }),
    fc.subarray(PATH_POOL, { maxLength: 3 }),
    fc.subarray(PATH_POOL, { maxLength: 3 }),
  ),
  scope_deny: fc.subarray(DENY_POOL),
  auto: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
  approval_timeout_seconds: fc.integer({ min: 1, max: 2_592_000 }),
}).map(({ ceilings, required, auto, ...rest }) => {
  const index = (type: string) => TYPES.indexOf(type as typeof TYPES[number]);
  const doc: PolicyDocument = {
    ...rest,
    budget_ceilings: Object.fromEntries(rest.allowed_types.map((t) => [t, ceilings[index(t)]!])),
    required_fields: Object.fromEntries(
      rest.allowed_types.map((t) => [t, required[index(t)]!] as const).filter(([, p]) =>
        p.length > 0
      ),
    ),
    auto_approve_types: rest.allowed_types.filter((t) => auto[index(t)]),
  };
  return parsePolicy(doc, "arbitrary");
});

/**
 * A directive and a policy, the directive nudged towards the policy (each with
 * probability 3/4: an allowed type, the ceiling's currency with an amount at
 * most the ceiling, a timebox within the maximum) so that every rule, and
 * ALLOW, is reached often; the result is re-parsed by the contract. A sample
 * of 2,000 cases gave: ok 510, required_fields 483, budget_ceiling 378,
 * scope_deny 225, allowed_types 223, max_timebox 181.
 */
const caseArb: fc.Arbitrary<[DirectiveInput, PolicyConfig]> = fc.tuple(
  directiveArb,
  policyArb,
  fc.nat(),
  fc.array(fc.nat(3), { minLength: 3, maxLength: 3 }),
  fc.bigInt({ min: 1n, max: 1000n }),
).map(([d, p, pick, [typeDie, budgetDie, timeDie], permille]) => {
  const type = typeDie! > 0 ? p.allowed_types[pick % p.allowed_types.length]! : d.type;
  const ceiling = Object.hasOwn(p.budget_ceilings, type) ? p.budget_ceilings[type] : undefined;
  const scaledBudget = ceiling ? scaledOf(ceiling.amount) * permille / 1000n : 0n;
  const budget = ceiling && budgetDie! > 0 && scaledBudget > 0n
    ? { amount: decimal(scaledBudget), currency: ceiling.currency }
    : d.budget;
  const timebox = timeDie! > 0 ? Math.min(d.timebox, p.max_timebox_seconds) : d.timebox;
  return [schema.parse({ ...d, type, budget, timebox }), p];
});

/** Oracle: padded text comparison, independent of compareBudgets' BigInt. */
function padded(amount: string): string {
  const [whole = "", fraction = ""] = amount.split(".");
  return `${whole.replace(/^0+/, "").padStart(14, "0")}.${fraction.padEnd(4, "0")}`;
}

function present(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === "string") return /\S/.test(value);
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === "object") return Object.keys(value).length > 0;
  return true;
}

/** Oracle: which rules fail, restated from the documentation. */
function failingRules(d: DirectiveInput, p: PolicyConfig): PolicyRule[] {
  const failing: PolicyRule[] = [];
  if (!p.allowed_types.includes(d.type)) failing.push("allowed_types");
  const ceiling: Budget | undefined = Object.hasOwn(p.budget_ceilings, d.type)
    ? p.budget_ceilings[d.type]
    : undefined;
  if (
    !ceiling || ceiling.currency !== d.budget.currency ||
    padded(d.budget.amount) > padded(ceiling.amount)
  ) failing.push("budget_ceiling");
  if (d.timebox > p.max_timebox_seconds) failing.push("max_timebox");
  const paths = Object.hasOwn(p.required_fields, d.type) ? p.required_fields[d.type]! : [];
  const get = (path: string): unknown =>
    path.split(".").reduce<unknown>(
      (node, key) =>
        node !== null && typeof node === "object" && Object.hasOwn(node, key)
          ? (node as Record<string, unknown>)[key]
          : undefined,
      d,
    );
  if (paths.some((path) => !present(get(path)))) failing.push("required_fields");
  const denied = d.scope.some((item) =>
    p.scope_deny.some((entry) => {
      const [i, e] = [item.toLowerCase(), entry.toLowerCase()];
      return e.endsWith("/*") ? i === e.slice(0, -2) || i.startsWith(e.slice(0, -1)) : i === e;
    })
  );
  if (denied) failing.push("scope_deny");
  return failing;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object") {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

Deno.test(`property: evaluation is deterministic, on the inputs and on clones (${RUNS} runs)`, () => {
  fc.assert(
    fc.property(caseArb, ([d, p]) => {
      const first = evaluatePolicy(d, p);
      assertEquals(evaluatePolicy(d, p), first);
      assertEquals(evaluatePolicy(structuredClone(d), structuredClone(p)), first);
    }),
    { numRuns: RUNS },
  );
});

Deno.test(`property: evaluation never mutates its inputs, even frozen ones (${RUNS} runs)`, () => {
  fc.assert(
    fc.property(caseArb, ([d, p]) => {
      const [dBefore, pBefore] = [structuredClone(d), structuredClone(p)];
      const decision = evaluatePolicy(d, p);
      // Compared as clones: fast-check may build null-prototype objects, which a clone normalises.
      assertEquals([structuredClone(d), structuredClone(p)], [dBefore, pBefore]);
      assertEquals(
        evaluatePolicy(deepFreeze(structuredClone(d)), deepFreeze(structuredClone(p))),
        decision,
      );
    }),
    { numRuns: RUNS },
  );
});

Deno.test(`property: BLOCK iff some rule fails, naming the first in order (${RUNS} runs)`, () => {
  fc.assert(
    fc.property(caseArb, ([d, p]) => {
      const failing = failingRules(d, p);
      const decision = evaluatePolicy(d, p);
      const expectedRule = failing[0] ?? "ok";
      assertEquals(decision.rule, expectedRule);
      assertEquals(decision.verdict, failing.length > 0 ? "BLOCK" : "ALLOW");
      assertEquals(
        decision.auto_approve,
        failing.length === 0 && p.auto_approve_types.includes(d.type),
      );
      assert(decision.reason.length >= 1 && decision.reason.length <= 2000);
      assertEquals(
        [decision.policy_name, decision.policy_version, decision.approval_timeout_seconds],
        [p.name, p.version, p.approval_timeout_seconds],
      );
    }),
    { numRuns: RUNS },
  );
});

function decimal(scaled: bigint): string {
  const text = scaled.toString().padStart(5, "0");
  return `${text.slice(0, -4)}.${text.slice(-4)}`;
}

function scaledOf(amount: string): bigint {
  const [whole = "", fraction = ""] = amount.split(".");
  return BigInt(whole + fraction.padEnd(4, "0"));
}

Deno.test(`property: raising an allowed type's budget above its ceiling always blocks (${RUNS} runs)`, () => {
  fc.assert(
    fc.property(
      directiveArb,
      policyArb,
      fc.bigInt({ min: 1n, max: 10_000_000n }),
      fc.nat(),
      (d, p, delta, pick) => {
        const type = p.allowed_types[pick % p.allowed_types.length]!;
        const ceiling = p.budget_ceilings[type]!;
        const above: DirectiveInput = {
          ...d,
          type,
          budget: { amount: decimal(scaledOf(ceiling.amount) + delta), currency: ceiling.currency },
        };
        const blocked = evaluatePolicy(above, p);
        assertEquals([blocked.verdict, blocked.rule, blocked.auto_approve], [
          "BLOCK",
          "budget_ceiling",
          false,
        ]);
        assertStringIncludes(blocked.reason, `exceeds the ${type} ceiling`);

        const other = CURRENCIES.find((c) => c !== ceiling.currency)!;
        const foreign = evaluatePolicy(
          { ...above, budget: { amount: "0.0001", currency: other } },
          p,
        );
        assertEquals([foreign.verdict, foreign.rule], ["BLOCK", "budget_ceiling"]);

        const atCeiling = evaluatePolicy({ ...above, budget: ceiling }, p);
        assert(atCeiling.rule !== "budget_ceiling" && atCeiling.rule !== "allowed_types");
      },
    ),
    { numRuns: RUNS },
  );
});
