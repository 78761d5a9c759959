/**
 * `keel status`, `keel list` and `keel history`: read-only views of what
 * Postgres holds, plus the loop's live phase for `status`.
 *
 * @module
 */
import { isTerminal } from "../../directives/mod.ts";
import { DIRECTIVE_STATUSES, DirectiveRow } from "../../models/mod.ts";
import { directiveDetail, listDirectives } from "../../directives/queries.ts";
import { loopState } from "../../loop/commands.ts";
import {
  directiveWorkflowId,
  type LoopStatus,
  statusQuery,
} from "../../workflows/directive/api.ts";
import { type Context, directiveIdArg, EXIT, parseCommand, printJson, usage } from "./common.ts";
import { arrow, bytes, seconds, table, time, transitionJson, truncate } from "./format.ts";
import { ledgerAfter, loadDirective } from "./follow.ts";

function directiveJson(d: DirectiveRow): Record<string, unknown> {
  return {
    id: d.id,
    type: d.type,
    status: d.status,
    version: d.version,
    issued_by: d.issued_by,
    objective: d.objective,
    scope: d.scope,
    constraints: d.constraints,
    success_metrics: d.success_metrics,
    budget: { amount: d.budget_amount, currency: d.budget_currency },
    timebox_seconds: d.timebox_seconds,
    payload: d.payload,
    idempotency_key: d.idempotency_key,
    created_at: time(d.created_at),
    updated_at: time(d.updated_at),
  };
}

/** The loop's live state, or why it is not known. */
type LoopView =
  | { readonly state: "running"; readonly status: LoopStatus }
  | { readonly state: "ended" | "absent" | "unknown"; readonly note: string };

async function loopView(ctx: Context, directive: DirectiveRow): Promise<LoopView> {
  if (isTerminal(directive.status)) return { state: "ended", note: "the directive has ended" };
  try {
    const { client } = await ctx.temporal();
    const state = await loopState(client, directive.id);
    if (state.state === "absent") {
      return { state: "absent", note: "no loop has been started; the reconciler adopts it" };
    }
    if (state.state === "ended") return { state: "ended", note: `the loop is ${state.status}` };
    const handle = client.workflow.getHandle(directiveWorkflowId(directive.id));
    const status = await client.withDeadline(Date.now() + 5_000, () => handle.query(statusQuery));
    return { state: "running", status };
  } catch (error) {
    return { state: "unknown", note: `cannot ask the loop: ${(error as Error).message}` };
  } finally {
    await ctx.closeTemporal();
  }
}

/** `keel status`. */
export async function statusCommand(ctx: Context, args: readonly string[]): Promise<number> {
  const { positionals } = parseCommand("status", args, {}, { min: 1, max: 1, names: "<id>" });
  const id = directiveIdArg("status", positionals[0]);
  const sql = await ctx.db();
  const detail = await directiveDetail(sql, id);
  const directive = DirectiveRow.parse(detail.directive);
  const pick = (row: Record<string, unknown>, keys: readonly string[]) =>
    // deno-lint-ignore no-explicit-any
    Object.fromEntries(keys.map((k) => [k, row[k]])) as Record<string, any>;
  const policy = [...detail.policy].reverse().map((p) =>
    pick(p, [
      "policy_name",
      "policy_version",
      "policy_sha256",
      "approvals_required",
      "verdict",
      "rule",
      "reason",
      "auto_approve",
      "granted_permissions",
      "evaluated_at",
    ])
  );
  const approvalRows = detail.approvals.map((row) =>
    pick(row, ["decision", "actor", "reason", "decided_at"])
  );
  const approval = approvalRows.find((row) => row.decision === "rejected") ?? approvalRows.at(-1);
  const quorum = {
    approvals: approvalRows.filter((row) => row.decision === "approved").length,
    required: (policy[0]?.approvals_required as number | undefined) ?? 1,
  };
  const runs = detail.runs.map((r) =>
    pick(r, [
      "id",
      "attempt",
      "module",
      "status",
      "outcome",
      "message",
      "budget_consumed",
      "started_at",
      "finished_at",
    ])
  );
  const artifacts = detail.artifacts.map((a) => {
    const picked = pick(a, [
      "id",
      "run_id",
      "kind",
      "content_type",
      "sha256",
      "storage_uri",
      "created_at",
    ]);
    picked.size_bytes = Number(a.size_bytes);
    return picked;
  });
  const evaluations = detail.evaluations.map((e) =>
    pick(e, ["run_id", "evaluator", "score", "dimensions", "created_at"])
  );
  const loop = await loopView(ctx, directive);
  if (ctx.json) {
    printJson(ctx, {
      directive: directiveJson(directive),
      policy: policy.map((p) => ({ ...p, evaluated_at: time(p.evaluated_at) })),
      approval: approval ? { ...approval, decided_at: time(approval.decided_at) } : null,
      approvals: approvalRows.map((a) => ({ ...a, decided_at: time(a.decided_at) })),
      quorum,
      runs: runs.map((r) => ({
        ...r,
        started_at: time(r.started_at),
        finished_at: time(r.finished_at),
      })),
      artifacts: artifacts.map((a) => ({ ...a, created_at: time(a.created_at) })),
      evaluations: evaluations.map((e) => ({ ...e, created_at: time(e.created_at) })),
      working_memory: {
        ...detail.working_memory,
        entries: detail.working_memory.entries.map((e) => ({
          ...e,
          written_at: time(e.written_at),
        })),
      },
      loop,
    });
    return EXIT.ok;
  }
  const d = directive;
  const out = (line: string) => ctx.io.out(line);
  out(`directive  ${d.id}`);
  out(`type       ${d.type}`);
  out(`status     ${d.status} (version ${d.version})`);
  out(`issued_by  ${d.issued_by}`);
  out(`objective  ${truncate(d.objective, 200)}`);
  out(`budget     ${d.budget_amount} ${d.budget_currency}`);
  out(`timebox    ${seconds(d.timebox_seconds)}`);
  out(`created    ${time(d.created_at)}   updated ${time(d.updated_at)}`);
  const verdict = policy[0];
  out(
    verdict
      ? `policy     ${verdict.verdict} by rule ${verdict.rule} (${verdict.policy_name}@${verdict.policy_version}): ${verdict.reason}${
        verdict.auto_approve ? " [auto-approve]" : ""
      }`
      : "policy     not evaluated yet",
  );
  if (verdict) {
    out(`policy sha ${verdict.policy_sha256 ?? "not recorded (verdict predates policy hashes)"}`);
  }
  if (verdict?.verdict === "ALLOW") out(`grants     ${grantsText(verdict.granted_permissions)}`);
  if (approvalRows.length === 0) out("approval   none");
  for (const a of approvalRows) {
    out(`approval   ${a.decision} by ${a.actor} at ${time(a.decided_at)}: ${a.reason}`);
  }
  if (verdict?.verdict === "ALLOW" && !verdict.auto_approve) {
    out(`quorum     ${quorum.approvals} of ${quorum.required} approval(s)`);
  }
  if (runs.length === 0) out("runs       none");
  for (const r of runs) {
    out(
      `run        #${r.attempt} ${r.module} ${r.status}${r.outcome ? ` ${r.outcome}` : ""}` +
        `${r.message ? `: ${truncate(r.message, 120)}` : ""} (${time(r.started_at)} → ${
          time(r.finished_at)
        })`,
    );
  }
  if (artifacts.length === 0) out("artifacts  none");
  for (const a of artifacts) {
    out(
      `artifact   ${a.kind} ${a.content_type} ${bytes(a.size_bytes)} sha256 ${a.sha256}` +
        `${a.storage_uri ? ` at ${a.storage_uri}` : " (inline)"}`,
    );
  }
  if (evaluations.length === 0) out("evaluation none");
  for (const e of evaluations) out(`evaluation ${e.evaluator} score ${e.score}`);
  const memory = detail.working_memory;
  if (memory.entries.length === 0) out("memory     none");
  for (const m of memory.entries) {
    out(
      `memory     ${m.key} = ${truncate(JSON.stringify(m.value), 100)} ` +
        `(version ${m.version}, attempt ${m.attempt})`,
    );
  }
  if (loop.state === "running") {
    const s = loop.status;
    out(
      `loop       ${s.phase} (attempt ${s.attempt}${s.runId ? `, run ${s.runId}` : ""}${
        s.abortRequested ? ", abort requested" : ""
      })`,
    );
  } else out(`loop       ${loop.state}: ${loop.note}`);
  return EXIT.ok;
}

/** `keel list`. */
export async function listCommand(ctx: Context, args: readonly string[]): Promise<number> {
  const { values } = parseCommand(
    "list",
    args,
    { status: { type: "string" }, type: { type: "string" }, limit: { type: "string" } },
    { min: 0, max: 0, names: "" },
  );
  const status = values.status as string | undefined;
  if (status !== undefined && !(DIRECTIVE_STATUSES as readonly string[]).includes(status)) {
    throw usage("list", `--status "${status}" is not one of ${DIRECTIVE_STATUSES.join(", ")}`);
  }
  const type = values.type as string | undefined;
  if (type !== undefined && !/^[a-z][a-z0-9_]{0,62}$/.test(type)) {
    throw usage("list", `--type "${type}" is not a directive type (snake_case)`);
  }
  const limitText = (values.limit as string | undefined) ?? "20";
  const limit = Number(limitText);
  if (!/^\d+$/.test(limitText) || limit < 1 || limit > 200) {
    throw usage("list", `--limit "${limitText}" must be a whole number from 1 to 200`);
  }
  const sql = await ctx.db();
  const { items: rows } = await listDirectives(sql, { status, type, limit });
  if (ctx.json) {
    printJson(ctx, {
      directives: rows.map((r) => ({
        id: r.id,
        type: r.type,
        status: r.status,
        version: r.version,
        issued_by: r.issued_by,
        objective: r.objective,
        created_at: time(r.created_at),
      })),
    });
    return EXIT.ok;
  }
  if (rows.length === 0) {
    ctx.io.out("no directives");
    return EXIT.ok;
  }
  const lines = table(
    ["ID", "TYPE", "STATUS", "V", "ISSUED_BY", "CREATED", "OBJECTIVE"],
    rows.map((r) => [
      r.id,
      r.type,
      r.status,
      String(r.version),
      truncate(r.issued_by, 24),
      time(r.created_at),
      truncate(r.objective, 40),
    ]),
  );
  for (const line of lines) ctx.io.out(line);
  return EXIT.ok;
}

/** `keel history`. */
export async function historyCommand(ctx: Context, args: readonly string[]): Promise<number> {
  const { positionals } = parseCommand("history", args, {}, { min: 1, max: 1, names: "<id>" });
  const id = directiveIdArg("history", positionals[0]);
  const sql = await ctx.db();
  await loadDirective(sql, id);
  const ledger = await ledgerAfter(sql, id);
  if (ctx.json) {
    printJson(ctx, { id, transitions: ledger.map(transitionJson) });
    return EXIT.ok;
  }
  const lines = table(
    ["ID", "AT", "TRANSITION", "ACTOR", "HASH", "REASON"],
    ledger.map((e) => [e.id, time(e.at), arrow(e), e.actor, e.hash.slice(0, 12), e.reason]),
  );
  for (const line of lines) ctx.io.out(line);
  return EXIT.ok;
}

/** A granted permission set in one line: `net 127.0.0.1:8080; env TOKEN`, or what it means when empty. */
export function grantsText(granted: unknown): string {
  if (granted === null || granted === undefined) {
    return "as the module declares (verdict predates grants)";
  }
  const lists = granted as Record<string, string[] | undefined>;
  const parts = ["net", "read", "write", "env"]
    .filter((kind) => (lists[kind]?.length ?? 0) > 0)
    .map((kind) => `${kind} ${lists[kind]!.join(", ")}`);
  return parts.length > 0 ? parts.join("; ") : "nothing (no net, files, env or processes)";
}
