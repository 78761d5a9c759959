import { assertEquals } from "@std/assert";
import type { DirectiveInput } from "../models/mod.ts";
import { httpRequestModule } from "../execution/modules/http_request.ts";
import { parsePolicy } from "./config.ts";
import { evaluatePolicy } from "./evaluate.ts";
import { explainPolicy } from "./explain.ts";

const policy = parsePolicy({
  name: "test",
  version: "1",
  allowed_types: ["http_request", "echo"],
  max_timebox_seconds: 600,
  budget_ceilings: { http_request: "1 USD", echo: "2 USD" },
  required_fields: { http_request: ["payload.url"] },
  scope_deny: ["secrets/*"],
  net_allow: { http_request: ["127.0.0.1:8080"] },
  approval_timeout_seconds: 60,
}, "test policy");

function directive(overrides: Partial<DirectiveInput> = {}): DirectiveInput {
  return {
    type: "http_request",
    issued_by: "agent:test",
    objective: "Call a service",
    scope: ["reports"],
    constraints: [],
    success_metrics: [],
    budget: { amount: "0.50", currency: "USD" },
    timebox: 60,
    payload: { url: "http://127.0.0.1:8080/x" },
    idempotency_key: "k",
    ...overrides,
  };
}

Deno.test("explainPolicy: every rule passes, each saying what it checked", () => {
  const results = explainPolicy(directive(), policy, httpRequestModule);
  assertEquals(results.map((r) => [r.rule, r.result]), [
    ["allowed_types", "pass"],
    ["budget_ceiling", "pass"],
    ["max_timebox", "pass"],
    ["required_fields", "pass"],
    ["scope_deny", "pass"],
    ["net_allow", "pass"],
  ]);
  assertEquals(results[1]?.detail, "budget 0.50 USD is within the http_request ceiling 1 USD");
  assertEquals(results[5]?.detail, "every target is allowed: 127.0.0.1:8080");
});

Deno.test("explainPolicy: checks every rule, where the engine stops at the first failure", () => {
  const d = directive({
    budget: { amount: "5", currency: "USD" },
    timebox: 6000,
    scope: ["secrets/db"],
    payload: { url: "http://example.com/" },
  });
  const decision = evaluatePolicy(d, policy);
  const results = explainPolicy(d, policy, httpRequestModule);
  const failed = results.filter((r) => r.result === "fail");
  assertEquals(failed.map((r) => r.rule), [
    "budget_ceiling",
    "max_timebox",
    "scope_deny",
    "net_allow",
  ]);
  // The first failure is the engine's verdict, with the same reason.
  assertEquals([failed[0]?.rule, failed[0]?.detail], [decision.rule, decision.reason]);
});

Deno.test("explainPolicy: net_allow is not checked when no module serves the type", () => {
  const results = explainPolicy(directive({ type: "echo", payload: { m: 1 } }), policy, undefined);
  assertEquals(results.at(-1), {
    rule: "net_allow",
    result: "not_checked",
    detail: 'no execution module serves type "echo"',
  });
});
