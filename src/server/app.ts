/**
 * The HTTP API: JSON routes over the same control loop the CLI drives.
 * Every `/api` route requires a scope of the caller's principal; mutations go
 * through `src/loop/commands.ts` so Temporal and the ledger agree; reads go
 * through `src/directives/queries.ts`. Errors are RFC 9457 problem+json,
 * mapped by the one error table; an internal error answers only an id that
 * the JSON log line with the real error also carries.
 *
 * @module
 */
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { Scope } from "../auth/principal.ts";
import { type ApiToken, authorize, ScopeError } from "../auth/tokens.ts";
import type { Sql } from "../db/mod.ts";
import { ArtifactNotFoundError, type ArtifactStorage, openArtifact } from "../artifacts/mod.ts";
import { DirectiveValidationError } from "../directives/mod.ts";
import {
  artifactOf,
  databaseAnswers,
  directiveDetail,
  listDirectives,
  loadDirective,
} from "../directives/queries.ts";
import { errorKindOf, InputError } from "../errors/table.ts";
import { recordLateScore } from "../evaluation/mod.ts";
import { type LoopTarget, submitAndStart } from "../loop/mod.ts";
import { decide } from "../loop/commands.ts";
import type { DirectiveSchema } from "../models/mod.ts";
import { createLogger, type Logger } from "../telemetry/log.ts";
import {
  hostAllowed,
  json,
  LOOPBACK_HOSTS,
  parse,
  problem,
  ProblemError,
  readJson,
  withSecurityHeaders,
} from "./_http.ts";
import { DecisionBody, ListQuery, openApi, ScoreBody } from "./openapi.ts";
import { policyWhatIfRoute } from "./policy_route.ts";
import type { ModuleDeclaration, PolicyConfig } from "../policy/mod.ts";
import { handleMcpRequest } from "../mcp/http.ts";
import { deliveriesOf } from "../notifications/mod.ts";
import type { ChangeFeed } from "../directives/feed.ts";
import { eventsRoute } from "./events_route.ts";

export { ProblemError } from "./_http.ts";
export { DecisionBody, ListQuery, openApi, Problem, ScoreBody } from "./openapi.ts";

/** What the app needs. */
export interface AppDeps {
  /** The app-role pool. */
  readonly sql: Sql;
  /** Where loops run. */
  readonly target: LoopTarget;
  /** The directive contract. */
  readonly schema: DirectiveSchema;
  /** The configured API tokens (hashes, names, scopes). */
  readonly tokens: readonly ApiToken[];
  /** Whether reads need no token (`KEEL_PUBLIC_READ=1`). */
  readonly publicRead?: boolean;
  /** Host header values answered (`host:port`, or `host` for any port); default loopback names. */
  readonly allowedHosts?: readonly string[];
  /** Largest accepted request body. */
  readonly maxBodyBytes: number;
  /** Milliseconds before a request answers 503 and is abandoned (default 30 s). */
  readonly requestTimeoutMs?: number;
  /** Milliseconds a Temporal Update may take (default: `UPDATE_DEADLINE_MS` in commands). */
  readonly updateDeadlineMs?: number;
  /** The CORS origin; undefined keeps CORS off. */
  readonly corsOrigin?: string | undefined;
  /** The Temporal UI base URL the dashboard links to. */
  readonly temporalUiUrl?: string;
  /** The object store that holds artifact bodies of 64 KiB and more. */
  readonly artifacts?: Pick<ArtifactStorage, "store">;
  /** Where JSON log lines go (internal errors with their id). */
  readonly log?: Logger;
  /** The active policy, for `POST /api/policy/what-if`; that route answers 503 without it. */
  readonly policy?: PolicyConfig | undefined;
  /** The module each directive type runs, for the what-if's grants. */
  readonly moduleOf?: (type: string) => ModuleDeclaration | undefined;
  /** The change feed `GET /api/events` streams; that route answers 503 without it. */
  readonly feed?: ChangeFeed;
  /** Serves MCP at `/mcp` when set: the registered module types and the examples folder. */
  readonly mcp?: { readonly moduleTypes: readonly string[]; readonly examplesDir?: URL };
}

const DEFAULT_TIMEOUT_MS = 30_000;

async function principalFor(deps: AppDeps, request: Request, scope: Scope) {
  return await authorize(
    { tokens: deps.tokens, publicRead: deps.publicRead ?? false },
    request.headers.get("authorization"),
    scope,
  );
}

async function readyz(deps: AppDeps, log: Logger): Promise<Response> {
  const checks: Record<string, string> = {};
  const probe = async (name: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
      checks[name] = "ok";
    } catch (error) {
      log.warn("readiness check failed", { check: name, error });
      checks[name] = "unreachable";
    }
  };
  await probe("postgres", () => databaseAnswers(deps.sql));
  await probe("temporal", () => deps.target.client.connection.workflowService.getSystemInfo({}));
  const ready = Object.values(checks).every((v) => v === "ok");
  return ready ? json({ ready, checks }) : problem(503, "not ready", { checks });
}

async function directivesRoute(
  deps: AppDeps,
  log: Logger,
  request: Request,
  url: URL,
  parts: string[],
): Promise<Response | undefined> {
  const method = request.method;
  const id = parts[2];
  if (id === undefined) {
    if (method === "GET") {
      await principalFor(deps, request, "read");
      const q = parse(ListQuery, Object.fromEntries(url.searchParams));
      const page = await listDirectives(deps.sql, q);
      return json({ items: page.items, limit: q.limit, next_cursor: page.nextCursor });
    }
    if (method === "POST") {
      const principal = await principalFor(deps, request, "submit");
      const document = await readJson(request, deps.maxBodyBytes);
      // The directive is attributed to the authenticated principal, whatever
      // the document's issued_by says.
      const result = await submitAndStart(deps.sql, deps.target, {
        document,
        schema: deps.schema,
        submittedBy: principal.name,
      });
      return json(
        { ...result, submitted_by: result.directive.submitted_by },
        result.created ? 201 : 200,
      );
    }
    return undefined;
  }
  if (parts.length === 3 && method === "GET") {
    await principalFor(deps, request, "read");
    return json(await directiveDetail(deps.sql, id));
  }
  if (parts.length === 4 && method === "GET" && parts[3] === "deliveries") {
    await principalFor(deps, request, "read");
    await loadDirective(deps.sql, id);
    return json({ items: await deliveriesOf(deps.sql, id) });
  }
  if (parts.length === 4 && method === "POST") {
    const action = parts[3];
    if (action === "approve" || action === "reject" || action === "abort") {
      const principal = await principalFor(deps, request, action === "abort" ? "abort" : "approve");
      const body = parse(DecisionBody, await readJson(request, deps.maxBodyBytes));
      const outcome = await decide(deps, id, action, { principal, reason: body.reason.trim() });
      return json({
        id: outcome.id,
        ...(outcome.decision === undefined ? {} : { decision: outcome.decision }),
        status: outcome.status,
        via: outcome.via,
      });
    }
    if (action === "scores") {
      const principal = await principalFor(deps, request, "score");
      const body = parse(ScoreBody, await readJson(request, deps.maxBodyBytes));
      await loadDirective(deps.sql, id);
      const row = await recordLateScore(deps.sql, {
        directiveId: id,
        score: body.score,
        evaluator: `human:${principal.name}`,
        dimensions: body.dimensions ?? {},
        ...(body.note === undefined ? {} : { note: body.note }),
      });
      return json(row, 201);
    }
    return undefined;
  }
  if (parts.length === 5 && parts[3] === "artifacts" && method === "GET") {
    await principalFor(deps, request, "read");
    return await artifactDownload(deps, log, id, parts[4] ?? "");
  }
  return undefined;
}

/** The body, with a JSON log line (and error id) when it aborts, e.g. on a sha256 mismatch. */
function loggedBody(
  body: ReadableStream<Uint8Array>,
  log: Logger,
  artifactId: string,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        const errorId = crypto.randomUUID();
        log.error("artifact download aborted", {
          error_id: errorId,
          artifact_id: artifactId,
          error,
        });
        controller.error(new Error(`artifact download aborted: error ${errorId}`));
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

async function artifactDownload(deps: AppDeps, log: Logger, id: string, artifactId: string) {
  await loadDirective(deps.sql, id);
  const row = await artifactOf(deps.sql, id, artifactId);
  if (!row) throw new ProblemError(404, `no artifact "${artifactId}" on directive ${id}`);
  if (row.pruned_at !== null) {
    throw new ProblemError(410, `artifact "${artifactId}" was pruned by retention`);
  }
  if (deps.artifacts === undefined) {
    throw new ProblemError(503, "no artifact store is configured on this server");
  }
  try {
    // Inline bodies are verified before sending; stored ones while streaming
    // (the last chunk is held back until the sha256 matches).
    const opened = await openArtifact(deps.sql, artifactId, deps.artifacts);
    return new Response(loggedBody(opened.body, log, artifactId), {
      headers: {
        "content-type": opened.row.content_type,
        "content-length": String(opened.size),
        "content-disposition": `attachment; filename="${opened.row.kind}-${
          opened.row.sha256.slice(0, 12)
        }"`,
      },
    });
  } catch (error) {
    if (error instanceof ArtifactNotFoundError) {
      throw new ProblemError(404, `artifact "${artifactId}" has no stored body`);
    }
    throw error;
  }
}

async function route(deps: AppDeps, request: Request, log: Logger): Promise<Response> {
  const url = new URL(request.url);
  const parts = url.pathname.split("/").filter((p) => p !== "");
  const method = request.method;
  if (parts[0] === "healthz" && method === "GET") return json({ ok: true });
  if (parts[0] === "readyz" && method === "GET") return await readyz(deps, log);
  if (method === "GET" && parts[0] === "openapi.json") return json(openApi());
  if (method === "GET" && parts[0] === "api" && parts[1] === "config") {
    // Open like the dashboard's files: it tells the page whether to ask for a token.
    return json({
      temporal_ui_url: deps.temporalUiUrl ?? null,
      public_read: deps.publicRead ?? false,
      read_only: deps.tokens.length === 0,
    });
  }
  if (method === "GET" && (parts.length === 0 || parts[0] === "dashboard")) {
    return await staticFile(parts[1] ?? "index.html");
  }
  if (parts.length === 1 && parts[0] === "mcp" && deps.mcp !== undefined) {
    return await mcpRoute(deps, deps.mcp, request);
  }
  if (method === "GET" && parts.length === 2 && parts[0] === "api" && parts[1] === "events") {
    await principalFor(deps, request, "read");
    if (deps.feed === undefined) throw new ProblemError(503, "no change feed on this server");
    return await eventsRoute(deps.feed, log, request, url);
  }
  if (parts[0] === "api" && parts[1] === "directives") {
    const answer = await directivesRoute(deps, log, request, url, parts);
    if (answer !== undefined) return answer;
  }
  if (
    method === "POST" && parts.length === 3 && parts[0] === "api" && parts[1] === "policy" &&
    parts[2] === "what-if"
  ) {
    await principalFor(deps, request, "admin");
    return await policyWhatIfRoute(
      { sql: deps.sql, policy: deps.policy, moduleOf: deps.moduleOf ?? (() => undefined) },
      await readJson(request, deps.maxBodyBytes),
    );
  }
  throw new ProblemError(404, `no route ${method} ${url.pathname}`);
}

function mcpRoute(deps: AppDeps, mcp: NonNullable<AppDeps["mcp"]>, request: Request) {
  const hosts = deps.allowedHosts ?? LOOPBACK_HOSTS;
  return handleMcpRequest({
    ...mcp,
    sql: deps.sql,
    target: deps.target,
    schema: deps.schema,
    artifacts: deps.artifacts,
    policy: deps.policy,
    tokens: deps.tokens,
    maxBodyBytes: deps.maxBodyBytes,
    originAllowed: (origin) => {
      try {
        return hostAllowed(new URL(origin).host, hosts);
      } catch {
        return false;
      }
    },
  }, request);
}

const STATIC: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "style.css": "text/css; charset=utf-8",
};

async function staticFile(name: string): Promise<Response> {
  const type = STATIC[name];
  if (type === undefined) throw new ProblemError(404, `no dashboard file "${name}"`);
  const body = await Deno.readFile(new URL(`./dashboard/${name}`, import.meta.url));
  return new Response(body, { headers: { "content-type": type } });
}

function withCors(deps: AppDeps, response: Response): Response {
  if (deps.corsOrigin === undefined) return response;
  response.headers.set("access-control-allow-origin", deps.corsOrigin);
  response.headers.set("access-control-allow-headers", "authorization, content-type");
  response.headers.set("access-control-allow-methods", "GET, POST, OPTIONS");
  response.headers.set("vary", "origin");
  return response;
}

/** Builds the request handler. */
export function createHandler(deps: AppDeps): (request: Request) => Promise<Response> {
  const log = deps.log ?? createLogger({ level: "info", service: "keel-server" });
  return (request) =>
    trace.getTracer("keel").startActiveSpan(`HTTP ${request.method}`, {
      kind: SpanKind.SERVER,
      attributes: {
        "http.request.method": request.method,
        "url.path": new URL(request.url).pathname,
      },
    }, async (span) => {
      try {
        const response = withSecurityHeaders(
          withCors(deps, await withTimeout(deps, log, request)),
        );
        span.setAttribute("http.response.status_code", response.status);
        if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        return response;
      } finally {
        span.end();
      }
    });
}

async function withTimeout(deps: AppDeps, log: Logger, request: Request): Promise<Response> {
  const ms = deps.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<Response>((resolve) => {
    timer = setTimeout(() => {
      log.warn("request abandoned after its timeout", {
        method: request.method,
        path: new URL(request.url).pathname,
        timeout_ms: ms,
      });
      resolve(problem(503, `the request did not finish within ${ms} ms; it was abandoned`));
    }, ms);
  });
  try {
    return await Promise.race([handle(deps, log, request), expired]);
  } finally {
    clearTimeout(timer);
  }
}

async function handle(deps: AppDeps, log: Logger, request: Request): Promise<Response> {
  try {
    if (!hostAllowed(request.headers.get("host"), deps.allowedHosts ?? LOOPBACK_HOSTS)) {
      const host = (request.headers.get("host") ?? "").slice(0, 100);
      return problem(421, `this server does not answer for host "${host}" (KEEL_ALLOWED_HOSTS)`);
    }
    if (request.method === "OPTIONS" && deps.corsOrigin !== undefined) {
      return new Response(null, { status: 204 });
    }
    return await route(deps, request, log);
  } catch (error) {
    return answerError(log, error);
  }
}

function answerError(log: Logger, error: unknown): Response {
  if (error instanceof ProblemError) return problem(error.status, error.message, error.extra);
  const found = errorKindOf(error);
  if (found !== undefined && found.public) {
    const message = (error as Error).message;
    if (error instanceof DirectiveValidationError) {
      return problem(400, message, { errors: error.fields });
    }
    if (error instanceof InputError) return problem(400, message, { errors: error.fields });
    if (error instanceof ScopeError) return problem(403, message, { scope: error.scope });
    return problem(found.status, message);
  }
  // Internal: the caller gets an id; the log line carries the id and the error.
  const errorId = crypto.randomUUID();
  log.error("internal error answering a request", { error_id: errorId, error });
  return problem(500, `internal error ${errorId}`, { error_id: errorId });
}
