/**
 * Known data for the dashboard's aggregates, written through the domain's
 * own functions (submit, the policy step, decisions, transitions, runs, the
 * budget ledger) and no loop, so every count is known:
 *
 * - `done1`, `done2`: echo, approved by alice, run 100 ms / 300 ms, charged
 *   0.1500 / 0.2500 USD, complete; each run left `progress: {"step": 3}` in
 *   its working memory;
 * - `failed`: echo, approved by alice, run 200 ms failed (reservation
 *   released), aborted;
 * - `rejected`: echo, rejected by bob, aborted;
 * - `auto`: noop, auto-approved by the policy (not a person's wait), approved;
 * - `blockedEur`: echo in EUR, blocked by budget_ceiling;
 * - `blockedScope1`, `blockedScope2`: scope "production", blocked by scope_deny;
 * - `waiting1`, `waiting2`: echo, ALLOW, waiting in proposed (oldest first);
 *   `waiting2`'s payload is larger than the directive page shows.
 */
import type { Sql } from "../src/db/mod.ts";
import { decideApproval, submitDirective, transitionDirective } from "../src/directives/mod.ts";
import {
  BUILTIN_MODULES,
  claimRun,
  createRegistry,
  createRun,
  finishRun,
} from "../src/execution/mod.ts";
import { reserve } from "../src/budget/mod.ts";
import { writeValue } from "../src/working_memory/mod.ts";
import { type PolicyConfig, runPolicyStep } from "../src/policy/mod.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";

const registry = createRegistry(BUILTIN_MODULES);

/** The seeded directives' ids by name. */
export type Seeded = Record<
  | "done1"
  | "done2"
  | "failed"
  | "rejected"
  | "auto"
  | "blockedEur"
  | "blockedScope1"
  | "blockedScope2"
  | "waiting1"
  | "waiting2",
  string
>;

async function submit(sql: Sql, policy: PolicyConfig, overrides: Record<string, unknown>) {
  const { directive } = await submitDirective(sql, echoDocument(overrides), {
    schema: builtinSchema(),
    submittedBy: "agent-seed",
  });
  await runPolicyStep(sql, directive.id, { policy, moduleOf: (t) => registry.find(t) });
  return directive;
}

async function move(sql: Sql, id: string, to: "complete" | "aborted") {
  await transitionDirective(sql, { directiveId: id, to, actor: "keel", reason: `seed: ${to}` });
}

async function run(
  sql: Sql,
  id: string,
  ending: { ok: boolean; ms: number; charge: string | null },
) {
  const { directive } = await transitionDirective(sql, {
    directiveId: id,
    to: "executing",
    actor: "keel",
    reason: "seed: executing",
  });
  const { run: created } = await createRun(sql, { directive, attempt: 1 });
  await claimRun(sql, created.id);
  await reserve(sql, {
    directiveId: id,
    key: created.idempotency_key,
    provider: "module",
    model: directive.type,
    estimate: "0.3000",
    currency: directive.budget_currency,
  });
  if (ending.ok) {
    await writeValue(sql, {
      directiveId: id,
      runId: created.id,
      key: "progress",
      value: { step: 3 },
    });
  }
  await finishRun(sql, created.id, {
    status: ending.ok ? "completed" : "failed",
    outcome: ending.ok ? "SUCCESS" : "ERROR",
    message: "seeded run",
    durationMs: ending.ms,
    ...(ending.charge === null ? {} : { budgetConsumed: ending.charge }),
    settle: { key: created.idempotency_key, amount: ending.charge },
  });
  await move(sql, id, ending.ok ? "complete" : "aborted");
}

async function approve(sql: Sql, id: string, actor: string, decision: "approved" | "rejected") {
  await decideApproval(sql, { directiveId: id, decision, actor, reason: `seed ${decision}` });
}

/** Writes the data above; returns the ids. */
export async function seedOverview(sql: Sql, policy: PolicyConfig): Promise<Seeded> {
  const ids: Partial<Seeded> = {};
  for (const [name, ms, charge] of [["done1", 100, "0.1500"], ["done2", 300, "0.2500"]] as const) {
    const d = await submit(sql, policy, { objective: `Seeded ${name}` });
    await approve(sql, d.id, "alice", "approved");
    await run(sql, d.id, { ok: true, ms, charge });
    ids[name] = d.id;
  }
  const failed = await submit(sql, policy, { objective: "Seeded failure" });
  await approve(sql, failed.id, "alice", "approved");
  await run(sql, failed.id, { ok: false, ms: 200, charge: null });
  ids.failed = failed.id;
  const rejected = await submit(sql, policy, { objective: "Seeded rejection" });
  await approve(sql, rejected.id, "bob", "rejected");
  ids.rejected = rejected.id;
  const auto = await submit(sql, policy, {
    type: "noop",
    objective: "Seeded auto-approval",
    budget: { amount: "0.10", currency: "USD" },
    payload: {},
  });
  await decideApproval(sql, {
    directiveId: auto.id,
    decision: "approved",
    actor: `policy:${policy.name}@${policy.version}`,
    reason: "auto-approved by policy",
    byPolicy: true,
  });
  ids.auto = auto.id;
  ids.blockedEur = (await submit(sql, policy, {
    objective: "Seeded euro budget",
    budget: { amount: "2.50", currency: "EUR" },
  })).id;
  for (const name of ["blockedScope1", "blockedScope2"] as const) {
    ids[name] = (await submit(sql, policy, {
      objective: `Seeded ${name}`,
      scope: ["production"],
    })).id;
  }
  for (const name of ["waiting1", "waiting2"] as const) {
    ids[name] = (await submit(sql, policy, {
      objective: `Seeded ${name}: echo a report for review`,
      budget: { amount: name === "waiting1" ? "2.50" : "4.00", currency: "USD" },
      // waiting2's payload is larger than the page shows (about 7 KiB).
      payload: {
        message: `report ${name}`,
        lines: name === "waiting1"
          ? ["alpha", "beta"]
          : Array.from({ length: 300 }, (_, i) => `line ${i}`),
      },
    })).id;
  }
  return ids as Seeded;
}
