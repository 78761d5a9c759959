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
import { type ApiToken, ScopeError } from "../auth/tokens.ts";
import type { Sql } from "../db/mod.ts";
import type { ArtifactStorage } from "../artifacts/mod.ts";
import { DirectiveValidationError } from "../directives/mod.ts";
import { databaseAnswers } from "../directives/queries.ts";
import { errorKindOf, InputError } from "../errors/table.ts";
import type { LoopTarget } from "../loop/mod.ts";
import type { DirectiveSchema } from "../models/mod.ts";
import { createLogger, type Logger } from "../telemetry/log.ts";
import {
  hostAllowed,
  json,
  LOOPBACK_HOSTS,
  problem,
  ProblemError,
  readJson,
  withSecurityHeaders,
} from "./_http.ts";
import { principalFor } from "./_principal.ts";
import { openApi } from "./openapi.ts";
import { policyWhatIfRoute } from "./policy_route.ts";
import type { PolicyConfig } from "../policy/mod.ts";
import type { ModuleInfo } from "./directive_view.ts";
import { directivesRoute } from "./directives_route.ts";
import { overviewRoute } from "./overview_routes.ts";
import { staticFile } from "./static.ts";
import { handleMcpRequest } from "../mcp/http.ts";
import type { ChangeFeed } from "../directives/feed.ts";
import { eventsRoute } from "./events_route.ts";
import type { MemoryEmbeddings } from "../memory/mod.ts";

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
  /** The module each directive type runs: the what-if's grants and the directive page. */
  readonly moduleOf?: (type: string) => ModuleInfo | undefined;
  /** The change feed `GET /api/events` streams; that route answers 503 without it. */
  readonly feed?: ChangeFeed;
  /** Serves MCP at `/mcp` when set: the registered module types and the examples folder. */
  readonly mcp?: { readonly moduleTypes: readonly string[]; readonly examplesDir?: URL };
  /** How memories were embedded: memory searches go by meaning; by text without it. */
  readonly memory?: MemoryEmbeddings | undefined;
}

const DEFAULT_TIMEOUT_MS = 30_000;

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
  const overview = await overviewRoute(deps, request, url, parts);
  if (overview !== undefined) return overview;
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
    memory: deps.memory,
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
