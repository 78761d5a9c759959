/**
 * What an agent can do through MCP, as plain functions of the caller's
 * principal: propose a directive, read and follow its own, read artifacts,
 * search memory and abort what it proposed. Nothing here approves, rejects or
 * scores; each function checks the scope it needs, as the HTTP routes do.
 *
 * @module
 */
import { ArtifactNotFoundError, type ArtifactStorage, readArtifact } from "../artifacts/mod.ts";
import { hasScope, type Principal, type Scope } from "../auth/principal.ts";
import { ScopeError } from "../auth/tokens.ts";
import type { Sql } from "../db/mod.ts";
import { isTerminal } from "../directives/mod.ts";
import {
  artifactOf,
  directiveDetail,
  listDirectives,
  loadDirective,
  statusAndVerdict,
} from "../directives/queries.ts";
import { InputError } from "../errors/table.ts";
import { decide } from "../loop/commands.ts";
import { type LoopTarget, submitAndStart } from "../loop/mod.ts";
import { type MemoryEmbeddings, searchDirectiveMemory } from "../memory/mod.ts";
import type { DirectiveSchema } from "../models/mod.ts";

/** What the tools need. */
export interface AgentToolDeps {
  /** The app-role pool. */
  readonly sql: Sql;
  /** Where loops run (its client signs aborts). */
  readonly target: LoopTarget;
  /** The directive contract. */
  readonly schema: DirectiveSchema;
  /** Where bodies of 64 KiB and more are stored; `get_artifact` refuses them without it. */
  readonly artifacts?: Pick<ArtifactStorage, "store"> | undefined;
  /** How memories were embedded: `search_memory` goes by meaning; by text without it. */
  readonly memory?: MemoryEmbeddings | undefined;
  /** Milliseconds between checks while waiting (default 250). */
  readonly pollMs?: number;
}

/** The longest `wait_for_directive` waits, in seconds: under the HTTP request timeout. */
export const WAIT_MAX_SECONDS = 25;
/** The largest body `get_artifact` returns, in bytes. */
export const ARTIFACT_MAX_BYTES = 1024 * 1024;
/** How long `propose_directive` waits for the policy's verdict, in milliseconds. */
const VERDICT_WAIT_MS = 5_000;

function need(principal: Principal, scope: Scope): void {
  if (!hasScope(principal, scope)) throw new ScopeError(principal.name, scope);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Stores the document as a directive submitted by `principal` and starts its
 * loop; waits up to 5 s for the policy's verdict. A bad document throws
 * `DirectiveValidationError` with every field error and stores nothing.
 */
export async function proposeDirective(
  deps: AgentToolDeps,
  principal: Principal,
  document: unknown,
) {
  need(principal, "submit");
  const result = await submitAndStart(deps.sql, deps.target, {
    document,
    schema: deps.schema,
    submittedBy: principal.name,
  });
  const id = result.directive.id;
  const deadline = Date.now() + VERDICT_WAIT_MS;
  let now = await statusAndVerdict(deps.sql, id);
  while (now.verdict === null && Date.now() < deadline) {
    await sleep(deps.pollMs ?? 250);
    now = await statusAndVerdict(deps.sql, id);
  }
  return {
    id,
    created: result.created,
    status: now.status,
    submitted_by: result.directive.submitted_by,
    ...(now.verdict ?? { verdict: "PENDING" as const }),
    ...(result.startError === undefined ? {} : { start_error: result.startError }),
  };
}

/** A directive with its ledger, verdicts, approvals, runs, artifacts and evaluations. */
export async function getDirective(deps: AgentToolDeps, principal: Principal, id: string) {
  need(principal, "read");
  return await directiveDetail(deps.sql, id);
}

/** The directives `principal` submitted, newest first, a page at a time. */
export async function listMyDirectives(
  deps: AgentToolDeps,
  principal: Principal,
  options: { status?: string | undefined; limit: number; cursor?: string | undefined },
) {
  need(principal, "read");
  const page = await listDirectives(deps.sql, { ...options, submittedBy: principal.name });
  return {
    items: page.items.map((d) => ({
      id: d.id,
      type: d.type,
      status: d.status,
      objective: d.objective,
      created_at: d.created_at,
    })),
    next_cursor: page.nextCursor,
  };
}

/**
 * Waits until the directive's status differs from `seen` (its current one
 * when omitted) or `timeoutSeconds` pass; answers the status either way.
 */
export async function waitForDirective(
  deps: AgentToolDeps,
  principal: Principal,
  options: { id: string; seen?: string | undefined; timeoutSeconds: number },
  signal?: AbortSignal,
) {
  need(principal, "read");
  const first = await loadDirective(deps.sql, options.id);
  const seen = options.seen ?? first.status;
  const deadline = Date.now() + Math.min(options.timeoutSeconds, WAIT_MAX_SECONDS) * 1000;
  let status = first.status;
  while (status === seen && !isTerminal(status) && Date.now() < deadline && !signal?.aborted) {
    await sleep(deps.pollMs ?? 250);
    status = (await loadDirective(deps.sql, options.id)).status;
  }
  return { id: options.id, status, changed: status !== seen, ended: isTerminal(status) };
}

/** An artifact's body, verified against its sha256; refused above `maxBytes`. */
export async function getArtifact(
  deps: AgentToolDeps,
  principal: Principal,
  options: { directiveId: string; artifactId: string; maxBytes: number },
) {
  need(principal, "read");
  await loadDirective(deps.sql, options.directiveId);
  const row = await artifactOf(deps.sql, options.directiveId, options.artifactId);
  if (!row) {
    throw new InputError(
      `no artifact "${options.artifactId}" on directive ${options.directiveId}`,
      [
        { path: "artifact_id", message: "no such artifact on this directive" },
      ],
    );
  }
  if (row.pruned_at !== null) {
    throw new ArtifactNotFoundError(`artifact "${options.artifactId}" was pruned by retention`);
  }
  const size = row.size_bytes;
  if (size > options.maxBytes) {
    throw new InputError(
      `artifact "${options.artifactId}" is ${size} bytes, more than max_bytes ${options.maxBytes}`,
      [{ path: "max_bytes", message: `the artifact is ${size} bytes` }],
    );
  }
  if (deps.artifacts === undefined) throw new Error("no artifact store is configured here");
  const { body } = await readArtifact(deps.sql, options.artifactId, deps.artifacts);
  const meta = {
    artifact_id: options.artifactId,
    kind: row.kind,
    content_type: row.content_type,
    sha256: row.sha256,
    size_bytes: size,
    verified: true,
  };
  const textual = /^(text\/|application\/(json|[a-z.+-]*\+json|yaml|x-yaml))/.test(
    meta.content_type,
  );
  if (textual) {
    try {
      return { ...meta, text: new TextDecoder("utf-8", { fatal: true }).decode(body) };
    } catch {
      // Not UTF-8 after all: fall through to base64.
    }
  }
  return { ...meta, base64: btoa(Array.from(body, (b) => String.fromCharCode(b)).join("")) };
}

/** Directives like `query`: by meaning with embeddings, else whose objective contains it. */
export async function searchMemory(
  deps: AgentToolDeps,
  principal: Principal,
  options: { query: string; limit: number },
) {
  need(principal, "read");
  return await searchDirectiveMemory(deps.sql, options.query, options.limit, deps.memory);
}

/**
 * Aborts a directive the caller submitted (a principal with `abort` may
 * abort any). The abort is signed and verified like the API's.
 */
export async function abortMyDirective(
  deps: AgentToolDeps,
  principal: Principal,
  options: { id: string; reason: string },
) {
  const directive = await loadDirective(deps.sql, options.id);
  if (!hasScope(principal, "abort")) {
    need(principal, "submit");
    if (directive.submitted_by !== principal.name) {
      throw new ScopeError(principal.name, "abort", {
        cause: new Error(`directive ${options.id} was submitted by another principal`),
      });
    }
  }
  const outcome = await decide(deps, options.id, "abort", {
    principal,
    reason: options.reason.trim(),
  });
  return { id: outcome.id, status: outcome.status, recorded: outcome.recorded };
}
