import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { fileURLToPath } from "node:url";
import { PermissionSet } from "../models/mod.ts";
import {
  loadPolicy,
  parsePolicy,
  type PolicyConfig,
  PolicyConfigError,
  type PolicyDocument,
} from "./config.ts";
import { grantPermissions, type PermissionGrant } from "./permissions.ts";

const DOC: PolicyDocument = {
  name: "permissions-test",
  version: "1",
  allowed_types: ["noop", "http_request", "reader"],
  max_timebox_seconds: 3600,
  budget_ceilings: { noop: "1 USD", http_request: "1 USD", reader: "1 USD" },
  approval_timeout_seconds: 60,
  net_allow: { http_request: ["127.0.0.1"] },
};

function policy(netAllow: Record<string, string[]>): PolicyConfig {
  return parsePolicy({ ...DOC, net_allow: netAllow }, "test:permissions");
}

const DEFAULT = parsePolicy(DOC, "test:permissions");

function granted(grant: PermissionGrant): PermissionSet {
  assert(grant.verdict === "ALLOW", `expected ALLOW, got ${JSON.stringify(grant)}`);
  // What is granted is storable as a permission set.
  assertEquals(PermissionSet.parse(grant.granted), grant.granted);
  return grant.granted;
}

Deno.test("ALLOW: a target inside the allow-list gets the declared net, narrowed", () => {
  const grant = grantPermissions(
    { type: "http_request", declared: { net: ["127.0.0.1"] }, targets: ["127.0.0.1:8080"] },
    DEFAULT,
  );
  assertEquals(granted(grant), { net: ["127.0.0.1"] });
  // No targets (the payload's URL is unusable): nothing to block; the module fails on its own.
  assertEquals(
    granted(grantPermissions(
      { type: "http_request", declared: { net: ["127.0.0.1"] }, targets: [] },
      DEFAULT,
    )),
    { net: ["127.0.0.1"] },
  );
});

Deno.test("BLOCK: a target outside the allow-list, named with the type and the list", () => {
  assertEquals(
    grantPermissions(
      { type: "http_request", declared: { net: ["127.0.0.1"] }, targets: ["example.com:443"] },
      DEFAULT,
    ),
    {
      verdict: "BLOCK",
      reason: `target "example.com:443" of http_request is outside the policy's net ` +
        `allow-list (127.0.0.1)`,
    },
  );
  // The first target outside the list is the one named.
  const two = grantPermissions(
    {
      type: "http_request",
      declared: { net: ["127.0.0.1"] },
      targets: ["127.0.0.1:80", "localhost:80", "example.com:80"],
    },
    DEFAULT,
  );
  assert(two.verdict === "BLOCK");
  assertStringIncludes(two.reason, `target "localhost:80" of http_request`);
});

Deno.test("ports: the narrower port wins; a target on another port is blocked", () => {
  const ported = policy({ http_request: ["127.0.0.1:8080", "example.com"] });
  assertEquals(
    granted(grantPermissions(
      { type: "http_request", declared: { net: ["127.0.0.1"] }, targets: ["127.0.0.1:8080"] },
      ported,
    )),
    { net: ["127.0.0.1:8080"] },
  );
  assertEquals(
    grantPermissions(
      { type: "http_request", declared: { net: ["127.0.0.1"] }, targets: ["127.0.0.1:9090"] },
      ported,
    ),
    {
      verdict: "BLOCK",
      reason: `target "127.0.0.1:9090" of http_request is outside the policy's net ` +
        `allow-list (127.0.0.1:8080, example.com)`,
    },
  );
  // A declaration with a port, an allow-list without: the declared port.
  assertEquals(
    granted(grantPermissions(
      { type: "http_request", declared: { net: ["127.0.0.1:5432"] }, targets: ["127.0.0.1:5432"] },
      DEFAULT,
    )),
    { net: ["127.0.0.1:5432"] },
  );
  // Two ports that differ: nothing in common.
  assertEquals(
    granted(grantPermissions(
      { type: "http_request", declared: { net: ["127.0.0.1:5432"] }, targets: [] },
      ported,
    )),
    {},
  );
});

Deno.test("a type without net_allow gets no net, and any target of it is blocked", () => {
  assertEquals(
    granted(
      grantPermissions({ type: "noop", declared: { net: ["127.0.0.1"] }, targets: [] }, DEFAULT),
    ),
    {},
  );
  assertEquals(
    grantPermissions(
      { type: "noop", declared: { net: ["127.0.0.1"] }, targets: ["127.0.0.1:80"] },
      DEFAULT,
    ),
    {
      verdict: "BLOCK",
      reason: `target "127.0.0.1:80" of noop is outside the policy's net allow-list (none)`,
    },
  );
  // An inherited property name is not an entry.
  assertEquals(
    granted(
      grantPermissions(
        { type: "constructor", declared: { net: ["127.0.0.1"] }, targets: [] },
        DEFAULT,
      ),
    ),
    {},
  );
});

Deno.test("read, write and env pass through as declared; empty lists are omitted", () => {
  assertEquals(
    granted(grantPermissions(
      {
        type: "reader",
        declared: { net: ["127.0.0.1"], read: ["/srv/data"], write: [], env: ["HOME"] },
        targets: [],
      },
      DEFAULT,
    )),
    { read: ["/srv/data"], env: ["HOME"] },
  );
  assertEquals(granted(grantPermissions({ type: "noop", declared: {}, targets: [] }, DEFAULT)), {});
});

Deno.test("a target the policy allows but the module does not declare is not blocked here", () => {
  // The sandbox refuses it at run time (see http_request_test.ts).
  const wide = policy({ http_request: ["127.0.0.1", "localhost"] });
  assertEquals(
    granted(grantPermissions(
      { type: "http_request", declared: { net: ["127.0.0.1"] }, targets: ["localhost:8080"] },
      wide,
    )),
    { net: ["127.0.0.1"] },
  );
});

Deno.test("hosts compare without letter case", () => {
  const named = policy({ http_request: ["API.example.com:443"] });
  assertEquals(
    granted(grantPermissions(
      {
        type: "http_request",
        declared: { net: ["api.example.com"] },
        targets: ["Api.Example.com:443"],
      },
      named,
    )),
    { net: ["api.example.com:443"] },
  );
});

// ---- the net_allow config field ----

function configError(doc: unknown): PolicyConfigError {
  return assertThrows(() => parsePolicy(doc, "test.json"), PolicyConfigError);
}

Deno.test("config: net_allow defaults to {} and keeps its entries", () => {
  const { net_allow: _, ...without } = DOC;
  assertEquals(parsePolicy(without, "test").net_allow, {});
  assertEquals(
    policy({ http_request: ["127.0.0.1", "api.example.com:443", "[::1]:8080", "localhost"] })
      .net_allow,
    { http_request: ["127.0.0.1", "api.example.com:443", "[::1]:8080", "localhost"] },
  );
});

Deno.test("config: net_allow problems name their JSON paths", () => {
  const cases: [netAllow: unknown, path: string, text: string][] = [
    [
      { deploy: ["127.0.0.1"] },
      "$.net_allow.deploy",
      `names "deploy", which is not in allowed_types`,
    ],
    [{ Bad: ["127.0.0.1"] }, "$.net_allow.Bad", "Invalid key"],
    [{ http_request: ["http://example.com"] }, "$.net_allow.http_request[0]", "host or host:port"],
    [{ http_request: ["example.com/path"] }, "$.net_allow.http_request[0]", "host or host:port"],
    [{ http_request: ["*.example.com"] }, "$.net_allow.http_request[0]", `got "*.example.com"`],
    [{ http_request: [""] }, "$.net_allow.http_request[0]", "host or host:port"],
    [{ http_request: ["example.com:70000"] }, "$.net_allow.http_request[0]", "port 70000"],
    [{ http_request: ["example.com:0"] }, "$.net_allow.http_request[0]", "from 1 to 65535"],
    [{ http_request: ["a.com", "A.com"] }, "$.net_allow.http_request[1]", `repeats "A.com"`],
    [{ http_request: "127.0.0.1" }, "$.net_allow.http_request", ""],
    [
      { http_request: Array.from({ length: 101 }, (_, i) => `h${i}.example.com`) },
      "$.net_allow.http_request",
      "at most 100 items",
    ],
  ];
  for (const [netAllow, path, text] of cases) {
    const error = configError({ ...DOC, net_allow: netAllow });
    const issue = error.issues.find((candidate) => candidate.path === path);
    assert(issue, `expected an issue at ${path}, got ${JSON.stringify(error.issues)}`);
    assertStringIncludes(issue.message, text);
    assertStringIncludes(error.message, `${path} `);
  }
  // 100 entries are allowed.
  const hundred = Array.from({ length: 100 }, (_, i) => `h${i}.example.com`);
  assertEquals(policy({ http_request: hundred }).net_allow.http_request?.length, 100);
});

Deno.test("the default policy allows http_request to loopback only, with approval", async () => {
  const loaded = await loadPolicy(
    fileURLToPath(new URL("../../policies/default.json", import.meta.url)),
  );
  assert(loaded.allowed_types.includes("http_request"));
  assertEquals(loaded.net_allow, {
    http_request: ["127.0.0.1"],
    llm_generate: ["api.anthropic.com:443"],
  });
  assertEquals(loaded.required_fields.http_request, ["payload.url"]);
  assert(!loaded.auto_approve_types.includes("http_request"));
  const declared = { net: ["127.0.0.1"] };
  assertEquals(
    granted(grantPermissions(
      { type: "http_request", declared, targets: ["127.0.0.1:8080"] },
      loaded,
    )),
    { net: ["127.0.0.1"] },
  );
  assertEquals(
    grantPermissions({ type: "http_request", declared, targets: ["example.com:443"] }, loaded),
    {
      verdict: "BLOCK",
      reason: `target "example.com:443" of http_request is outside the policy's net ` +
        `allow-list (127.0.0.1)`,
    },
  );
});
