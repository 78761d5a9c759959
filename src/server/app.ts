/**
 * The HTTP API: JSON routes over the same control loop the CLI drives.
 * Mutations go through the loop's workflow Updates so Temporal and the
 * ledger agree; errors are RFC 9457 problem+json.
 *
 * @module
 */
import { type Client, WorkflowNotFoundError, WorkflowUpdateFailedError } from "@temporalio/client";
import { z } from "zod";
import type { Sql } from "../db/mod.ts";
import {
  decideApproval,
  DirectiveValidationError,
  finishDirective,
  IdempotencyConflictError,
  STATUSES,
} from "../directives/mod.ts";
import { type LoopTarget, submitAndStart } from "../loop/mod.ts";
import {
  ArtifactIntegrityError,
  ArtifactNotFoundError,
  type ArtifactStorage,
  readArtifact,
} from "../artifacts/mod.ts";
import { LateScoreError, recordLateScore } from "../evaluation/mod.ts";
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { DirectiveSchema } from "../models/mod.ts";
import {
  abortUpdate,
  approveUpdate,
  directiveWorkflowId,
  rejectUpdate,
} from "../workflows/directive/api.ts";

/** What the app needs. */
export interface AppDeps {
  /** The app-role pool. */
  readonly sql: Sql;
  /** Where loops run. */
  readonly target: LoopTarget;
  /** The directive contract. */
  readonly schema: DirectiveSchema;
  /** Bearer token → identity; empty means a read-only API. */
  readonly tokens: ReadonlyMap<string, string>;
  /** Largest accepted request body. */
  readonly maxBodyBytes: number;
  /** The CORS origin; undefined keeps CORS off. */
  readonly corsOrigin?: string | undefined;
  /** The Temporal UI base URL the dashboard links to. */
  readonly temporalUiUrl?: string;
  /** The object store that holds artifact bodies of 64 KiB and more. */
  readonly artifacts?: Pick<ArtifactStorage, "store">;
}

/** An error answered as problem+json. */
export class ProblemError extends Error {
  /** HTTP status. */
  readonly status: number;
  /** Extra members. */
  readonly extra: Record<string, unknown>;
  /** Builds a problem. */
  constructor(status: number, detail: string, extra: Record<string, unknown> = {}) {
    super(detail);
    this.name = "ProblemError";
    this.status = status;
    this.extra = extra;
  }
}

function problem(status: number, detail: string, extra: Record<string, unknown> = {}): Response {
  return new Response(JSON.stringify({ type: "about:blank", status, detail, ...extra }), {
    status,
    headers: { "content-type": "application/problem+json" },
  });
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

function timingSafeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

function identity(deps: AppDeps, request: Request): string {
  if (deps.tokens.size === 0) {
    throw new ProblemError(403, "this API is read-only: no KEEL_API_TOKENS are configured");
  }
  const header = request.headers.get("authorization") ?? "";
  const token = header.startsWith("Bearer ") ? header.slice(7) : "";
  let who: string | undefined;
  for (const [candidate, name] of deps.tokens) if (timingSafeEqual(candidate, token)) who = name;
  if (who === undefined) throw new ProblemError(401, "a valid bearer token is required");
  return who;
}

async function readJson(deps: AppDeps, request: Request): Promise<unknown> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > deps.maxBodyBytes) {
    throw new ProblemError(413, `request body exceeds ${deps.maxBodyBytes} bytes`);
  }
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.length > deps.maxBodyBytes) {
    throw new ProblemError(413, `request body exceeds ${deps.maxBodyBytes} bytes`);
  }
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new ProblemError(400, `request body is not valid JSON: ${(error as Error).message}`);
  }
}

/** The body of approve, reject and abort. */
export const DecisionBody = z.object({ reason: z.string().trim().min(1).max(2000) }).strict();

/** The body of a late score. */
export const ScoreBody = z.object({
  score: z.number().min(0).max(1),
  dimensions: z.record(z.string().regex(/^[a-z][a-z0-9_]{0,62}$/), z.number().min(0).max(1))
    .optional(),
  note: z.string().max(2000).optional(),
}).strict();

/** The list query. */
export const ListQuery = z.object({
  status: z.enum(STATUSES as [string, ...string[]]).optional(),
  type: z.string().max(100).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

function parse<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const errors = result.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
    throw new ProblemError(
      400,
      `invalid input: ${errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`,
      { errors },
    );
  }
  return result.data;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function loadOrThrow(sql: Sql, id: string) {
  if (!UUID.test(id)) throw new ProblemError(404, `no directive "${id}"`);
  const [row] = await sql`SELECT * FROM directives WHERE id = ${id}`;
  if (!row) throw new ProblemError(404, `no directive "${id}"`);
  return row;
}

async function loopRunning(client: Client, id: string): Promise<boolean> {
  try {
    const described = await client.workflow.getHandle(directiveWorkflowId(id)).describe();
    return described.status.name === "RUNNING";
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

async function decide(
  deps: AppDeps,
  id: string,
  action: "approve" | "reject" | "abort",
  by: { actor: string; reason: string },
) {
  await loadOrThrow(deps.sql, id);
  const client = deps.target.client;
  if (await loopRunning(client, id)) {
    const handle = client.workflow.getHandle(directiveWorkflowId(id));
    try {
      if (action === "abort") {
        const result = await handle.executeUpdate(abortUpdate, { args: [by] });
        return { id, status: result.status, via: "loop" };
      }
      const update = action === "approve" ? approveUpdate : rejectUpdate;
      const reply = await handle.executeUpdate(update, { args: [by] });
      return { id, decision: reply.decision, status: reply.directiveStatus, via: "loop" };
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError) {
        const cause = error.cause instanceof Error ? error.cause.message : error.message;
        throw new ProblemError(409, `the loop refused: ${cause}`);
      }
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
  }
  if (action === "abort") {
    const finished = await finishDirective(deps.sql, { directiveId: id, to: "aborted", ...by });
    if (!finished.changed) {
      throw new ProblemError(409, `directive ${id} has already ended ${finished.directive.status}`);
    }
    return { id, status: finished.directive.status, via: "postgres" };
  }
  const decision = action === "approve" ? "approved" : "rejected";
  const result = await decideApproval(deps.sql, { directiveId: id, decision, ...by });
  return {
    id,
    decision: result.approval.decision,
    status: result.directive.status,
    via: "postgres",
  };
}

async function details(sql: Sql, id: string) {
  const directive = await loadOrThrow(sql, id);
  const ledger =
    await sql`SELECT * FROM directive_transitions WHERE directive_id = ${id} ORDER BY id`;
  const policy =
    await sql`SELECT * FROM policy_evaluations WHERE directive_id = ${id} ORDER BY evaluated_at`;
  const approvals = await sql`SELECT * FROM approvals WHERE directive_id = ${id}`;
  const runs = await sql`SELECT * FROM execution_runs WHERE directive_id = ${id} ORDER BY attempt`;
  const artifacts = await sql`
    SELECT id, run_id, kind, sha256, size_bytes, content_type, storage_uri, created_at
    FROM artifacts WHERE directive_id = ${id} ORDER BY created_at`;
  const evaluations = await sql`SELECT * FROM evaluations WHERE directive_id = ${id}`;
  return {
    directive,
    workflow_id: directiveWorkflowId(id),
    ledger,
    policy,
    approvals,
    runs,
    artifacts,
    evaluations,
  };
}

async function route(deps: AppDeps, request: Request): Promise<Response> {
  const url = new URL(request.url);
  const parts = url.pathname.split("/").filter((p) => p !== "");
  const method = request.method;
  if (parts[0] === "healthz" && method === "GET") return json({ ok: true });
  if (parts[0] === "readyz" && method === "GET") {
    const checks: Record<string, string> = {};
    try {
      await deps.sql`SELECT 1`;
      checks.postgres = "ok";
    } catch (error) {
      checks.postgres = (error as Error).message;
    }
    try {
      await deps.target.client.connection.workflowService.getSystemInfo({});
      checks.temporal = "ok";
    } catch (error) {
      checks.temporal = (error as Error).message;
    }
    const ready = Object.values(checks).every((v) => v === "ok");
    return ready ? json({ ready, checks }) : problem(503, "not ready", { checks });
  }
  if (method === "GET" && parts[0] === "openapi.json") return json(openApi());
  if (method === "GET" && parts[0] === "api" && parts[1] === "config") {
    return json({
      temporal_ui_url: deps.temporalUiUrl ?? null,
      read_only: deps.tokens.size === 0,
    });
  }
  if (method === "GET" && (parts.length === 0 || parts[0] === "dashboard")) {
    return await staticFile(parts[1] ?? "index.html");
  }
  if (parts[0] !== "api" || parts[1] !== "directives") {
    throw new ProblemError(404, `no route ${method} ${url.pathname}`);
  }
  const id = parts[2];
  if (id === undefined) {
    if (method === "GET") {
      const q = parse(ListQuery, Object.fromEntries(url.searchParams));
      const rows = await deps.sql`
        SELECT * FROM directives
        WHERE (${q.status ?? null}::text IS NULL OR status::text = ${q.status ?? null})
          AND (${q.type ?? null}::text IS NULL OR type = ${q.type ?? null})
        ORDER BY created_at DESC, id LIMIT ${q.limit} OFFSET ${q.offset}`;
      return json({ items: rows, limit: q.limit, offset: q.offset });
    }
    if (method === "POST") {
      const actor = identity(deps, request);
      const document = await readJson(deps, request);
      const result = await submitAndStart(deps.sql, deps.target, { document, schema: deps.schema });
      return json({ ...result, submitted_by: actor }, result.created ? 201 : 200);
    }
  } else if (parts.length === 3 && method === "GET") {
    return json(await details(deps.sql, id));
  } else if (parts.length === 4 && method === "POST") {
    const action = parts[3];
    if (action === "approve" || action === "reject" || action === "abort") {
      const actor = identity(deps, request);
      const body = parse(DecisionBody, await readJson(deps, request));
      return json(await decide(deps, id, action, { actor, reason: body.reason }));
    }
    if (action === "scores") {
      const actor = identity(deps, request);
      const body = parse(ScoreBody, await readJson(deps, request));
      await loadOrThrow(deps.sql, id);
      try {
        const row = await recordLateScore(deps.sql, {
          directiveId: id,
          score: body.score,
          evaluator: `human:${actor}`,
          dimensions: body.dimensions ?? {},
          ...(body.note === undefined ? {} : { note: body.note }),
        });
        return json(row, 201);
      } catch (error) {
        if (error instanceof LateScoreError) throw new ProblemError(400, error.message);
        throw error;
      }
    }
  } else if (parts.length === 5 && parts[3] === "artifacts" && method === "GET") {
    await loadOrThrow(deps.sql, id);
    const artifactId = parts[4] ?? "";
    const [row] = UUID.test(artifactId)
      ? await deps.sql`
        SELECT id, pruned_at FROM artifacts WHERE id = ${artifactId} AND directive_id = ${id}`
      : [];
    if (!row) throw new ProblemError(404, `no artifact "${artifactId}" on directive ${id}`);
    if (row.pruned_at !== null) {
      throw new ProblemError(410, `artifact "${artifactId}" was pruned by retention`);
    }
    if (deps.artifacts === undefined) {
      throw new ProblemError(503, "no artifact store is configured on this server");
    }
    try {
      // Verified against the sha256 the row recorded, whether inline or stored.
      const { row: artifact, body } = await readArtifact(deps.sql, artifactId, deps.artifacts);
      return new Response(new Uint8Array(body), {
        headers: {
          "content-type": artifact.content_type,
          "content-disposition": `attachment; filename="${artifact.kind}-${
            artifact.sha256.slice(0, 12)
          }"`,
        },
      });
    } catch (error) {
      if (error instanceof ArtifactNotFoundError) {
        throw new ProblemError(
          404,
          `artifact "${artifactId}" has no stored body: ${error.message}`,
        );
      }
      if (error instanceof ArtifactIntegrityError) throw new ProblemError(500, error.message);
      throw error;
    }
  }
  throw new ProblemError(404, `no route ${method} ${url.pathname}`);
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

/** The OpenAPI document, generated from the zod schemas at the edge. */
export function openApi(): Record<string, unknown> {
  const problemRef = { $ref: "#/components/schemas/Problem" };
  const errors = {
    "400": {
      description: "Invalid input",
      content: { "application/problem+json": { schema: problemRef } },
    },
    "401": {
      description: "Missing or wrong bearer token",
      content: { "application/problem+json": { schema: problemRef } },
    },
    "403": {
      description: "Read-only API",
      content: { "application/problem+json": { schema: problemRef } },
    },
    "404": {
      description: "Not found",
      content: { "application/problem+json": { schema: problemRef } },
    },
    "409": {
      description: "Refused by the loop",
      content: { "application/problem+json": { schema: problemRef } },
    },
    "413": {
      description: "Body over the limit",
      content: { "application/problem+json": { schema: problemRef } },
    },
  };
  const action = (summary: string, body: string, ok: Record<string, unknown>) => ({
    post: {
      summary,
      security: [{ bearer: [] }],
      parameters: [{
        name: "id",
        in: "path",
        required: true,
        schema: { type: "string", format: "uuid" },
      }],
      requestBody: {
        required: true,
        content: { "application/json": { schema: { $ref: `#/components/schemas/${body}` } } },
      },
      responses: { ...ok, ...errors },
    },
  });
  const decision = (summary: string) =>
    action(summary, "DecisionBody", { "200": { description: "Decision recorded" } });
  const listParams = Object.entries(
    (z.toJSONSchema(ListQuery, { io: "input" }) as { properties: Record<string, unknown> })
      .properties,
  ).map(([name, schema]) => ({ name, in: "query", required: false, schema }));
  return {
    openapi: "3.1.0",
    info: { title: "Keel API", version: "1" },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        DecisionBody: z.toJSONSchema(DecisionBody),
        ScoreBody: z.toJSONSchema(ScoreBody),
        Problem: z.toJSONSchema(Problem),
      },
    },
    paths: {
      "/healthz": { get: { summary: "Liveness", responses: { "200": { description: "Alive" } } } },
      "/readyz": {
        get: {
          summary: "Postgres and Temporal reachable",
          responses: { "200": { description: "Ready" }, "503": errors["404"] },
        },
      },
      "/api/directives": {
        get: {
          summary: "List directives",
          parameters: listParams,
          responses: { "200": { description: "A page" }, "400": errors["400"] },
        },
        post: {
          summary: "Submit a directive and start its loop",
          security: [{ bearer: [] }],
          requestBody: {
            required: true,
            content: { "application/json": { schema: { type: "object" } } },
          },
          responses: {
            "201": { description: "Created" },
            "200": { description: "Already submitted" },
            ...errors,
          },
        },
      },
      "/api/directives/{id}": {
        get: {
          summary:
            "A directive with ledger, policy verdicts, approvals, runs, artifacts, evaluations",
          parameters: [{
            name: "id",
            in: "path",
            required: true,
            schema: { type: "string", format: "uuid" },
          }],
          responses: { "200": { description: "The directive" }, "404": errors["404"] },
        },
      },
      "/api/directives/{id}/approve": decision("Approve through the loop's Update"),
      "/api/directives/{id}/reject": decision("Reject through the loop's Update"),
      "/api/directives/{id}/abort": decision("Abort through the loop's Update"),
      "/api/directives/{id}/scores": action(
        "Record a late score for the directive, as the token's identity",
        "ScoreBody",
        { "201": { description: "Score recorded" } },
      ),
      "/api/directives/{id}/artifacts/{artifactId}": {
        get: {
          summary: "Download an artifact body",
          parameters: [
            { name: "id", in: "path", required: true, schema: { type: "string", format: "uuid" } },
            {
              name: "artifactId",
              in: "path",
              required: true,
              schema: { type: "string", format: "uuid" },
            },
          ],
          responses: { "200": { description: "The body" }, "404": errors["404"] },
        },
      },
    },
  };
}

/** An RFC 9457 problem document. */
export const Problem = z.object({
  type: z.string(),
  status: z.number().int(),
  detail: z.string(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

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
  return (request) =>
    trace.getTracer("keel").startActiveSpan(`HTTP ${request.method}`, {
      kind: SpanKind.SERVER,
      attributes: {
        "http.request.method": request.method,
        "url.path": new URL(request.url).pathname,
      },
    }, async (span) => {
      try {
        const response = withCors(deps, await handle(deps, request));
        span.setAttribute("http.response.status_code", response.status);
        if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        return response;
      } finally {
        span.end();
      }
    });
}

async function handle(deps: AppDeps, request: Request): Promise<Response> {
  {
    try {
      if (request.method === "OPTIONS" && deps.corsOrigin !== undefined) {
        return new Response(null, { status: 204 });
      }
      return await route(deps, request);
    } catch (error) {
      if (error instanceof ProblemError) return problem(error.status, error.message, error.extra);
      if (error instanceof DirectiveValidationError) {
        return problem(400, error.message, { errors: error.fields });
      }
      if (error instanceof IdempotencyConflictError) return problem(409, error.message);
      console.error(error);
      return problem(500, `internal error: ${(error as Error).message}`);
    }
  }
}
