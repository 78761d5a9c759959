import { assertEquals, assertStringIncludes } from "@std/assert";
import { DirectiveRow } from "../models/mod.ts";
import { httpRequestModule } from "../execution/modules/http_request.ts";
import { parsePolicy } from "./config.ts";
import { decideWithPermissions } from "./step.ts";

const policy = parsePolicy({
  name: "test",
  version: "1",
  allowed_types: ["http_request"],
  max_timebox_seconds: 3600,
  budget_ceilings: { http_request: "1 USD" },
  net_allow: { http_request: ["127.0.0.1:8080"] },
  approval_timeout_seconds: 60,
}, "test policy");

function directive(url: string): DirectiveRow {
  const now = new Date();
  return DirectiveRow.parse({
    id: crypto.randomUUID(),
    type: "http_request",
    issued_by: "agent:test",
    submitted_by: "agent:test",
    objective: "Call a service",
    scope: [],
    constraints: [],
    success_metrics: [],
    budget_amount: "0.10",
    budget_currency: "USD",
    timebox_seconds: 60,
    payload: { url },
    idempotency_key: `step-${crypto.randomUUID()}`,
    status: "proposed",
    version: 2,
    trace_id: null,
    created_at: now,
    updated_at: now,
  });
}

Deno.test("the policy step grants the module's declaration narrowed to net_allow", () => {
  const { decision, granted } = decideWithPermissions(
    directive("http://127.0.0.1:8080/x"),
    policy,
    httpRequestModule,
  );
  assertEquals([decision.verdict, decision.rule], ["ALLOW", "ok"]);
  assertEquals(granted, { net: ["127.0.0.1:8080"] });
});

Deno.test("the policy step blocks a target outside net_allow, naming it", () => {
  const { decision, granted } = decideWithPermissions(
    directive("http://example.com/x"),
    policy,
    httpRequestModule,
  );
  assertEquals([decision.verdict, decision.rule, decision.auto_approve], [
    "BLOCK",
    "net_allow",
    false,
  ]);
  assertStringIncludes(decision.reason, `target "example.com:80" of http_request`);
  assertEquals(granted, undefined);
});
