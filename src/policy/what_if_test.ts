import { assertEquals } from "@std/assert";
import { decisionDifferences, type WhatIfDecision } from "./what_if.ts";

const allow: WhatIfDecision = {
  verdict: "ALLOW",
  reason: `all rules passed under policy "a" version 1; approval required within 60s`,
  rule: "ok",
  policy_name: "a",
  policy_version: "1",
  auto_approve: false,
  approval_timeout_seconds: 60,
  approvals_required: 1,
  separate_submitter: true,
  granted: {},
};
const block: WhatIfDecision = {
  ...allow,
  verdict: "BLOCK",
  rule: "budget_ceiling",
  reason: "budget 2 USD exceeds the noop ceiling 1 USD",
  granted: null,
};

Deno.test("two BLOCKs are no change, whatever their rules and reasons", () => {
  assertEquals(
    decisionDifferences(block, { ...block, rule: "allowed_types", reason: "other" }),
    [],
  );
});

Deno.test("the policy's identity, the reason and the approval timeout are not compared", () => {
  const other = {
    ...allow,
    policy_name: "b",
    policy_version: "2",
    approval_timeout_seconds: 120,
    reason: `all rules passed under policy "b" version 2; approval required within 120s`,
  };
  assertEquals(decisionDifferences(allow, other), []);
});

Deno.test("a changed verdict, auto-approve or grant is named, the verdict first", () => {
  assertEquals(decisionDifferences(allow, block), ["verdict", "granted"]);
  assertEquals(decisionDifferences(block, allow), ["verdict", "granted"]);
  assertEquals(decisionDifferences(allow, { ...allow, auto_approve: true }), ["auto_approve"]);
  assertEquals(decisionDifferences(allow, { ...allow, granted: { net: ["127.0.0.1:80"] } }), [
    "granted",
  ]);
});

Deno.test("fields a later config adds to the decision are compared too", () => {
  const withQuorum = { ...allow, approvals_required: 2 } as WhatIfDecision;
  assertEquals(decisionDifferences(allow, withQuorum), ["approvals_required"]);
  assertEquals(decisionDifferences(withQuorum, { ...withQuorum }), []);
});
