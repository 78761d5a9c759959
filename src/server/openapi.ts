/**
 * The API's edge schemas (bodies and query) and the OpenAPI document
 * generated from them.
 *
 * @module
 */
import { z } from "zod";
import { LIST_LIMIT_MAX } from "../directives/queries.ts";
import { STATUSES } from "../directives/mod.ts";
import { DecisionBody, ScoreNote } from "../models/decision_text.ts";
import { viewPaths, viewSchemas } from "./openapi_views.ts";

export { DecisionBody };

/** The body of a late score. */
export const ScoreBody = z.object({
  score: z.number().min(0).max(1),
  dimensions: z.record(z.string().regex(/^[a-z][a-z0-9_]{0,62}$/), z.number().min(0).max(1))
    .optional(),
  note: ScoreNote.optional(),
}).strict();

/** The list query: filters, a bounded page and the cursor from the previous page. */
export const ListQuery = z.strictObject({
  status: z.enum(STATUSES as [string, ...string[]]).optional(),
  type: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, "must be a directive type (snake_case)")
    .optional(),
  limit: z.coerce.number().int().min(1).max(LIST_LIMIT_MAX).default(50),
  cursor: z.string().min(1).max(200).regex(/^[A-Za-z0-9_-]+$/, "must be a next_cursor value")
    .optional(),
  offset: z.never({
    error: "offset pagination was removed: pass the previous page's next_cursor as cursor",
  }).optional(),
});

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
      description: "The token lacks the route's scope",
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
  const action = (
    summary: string,
    body: string,
    ok: Record<string, unknown>,
    scope: string,
  ) => ({
    post: {
      summary,
      ...scoped(scope),
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
  const decision = (summary: string, scope: string) =>
    action(summary, "DecisionBody", { "200": { description: "Decision recorded" } }, scope);
  const listParams = Object.entries(
    (z.toJSONSchema(ListQuery.omit({ offset: true }), { io: "input" }) as {
      properties: Record<string, unknown>;
    }).properties,
  ).map(([name, schema]) => ({ name, in: "query", required: false, schema }));
  const scoped = (scope: string) => ({ "x-keel-scope": scope, security: [{ bearer: [] }] });
  const readById = (summary: string, found: string) => ({
    get: {
      summary,
      ...scoped("read"),
      parameters: [{
        name: "id",
        in: "path",
        required: true,
        schema: { type: "string", format: "uuid" },
      }],
      responses: { "200": { description: found }, "404": errors["404"] },
    },
  });
  return {
    openapi: "3.1.0",
    info: { title: "Keel API", version: "1" },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        DecisionBody: z.toJSONSchema(DecisionBody),
        ScoreBody: z.toJSONSchema(ScoreBody),
        Problem: z.toJSONSchema(Problem),
        ...viewSchemas(),
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
          summary: "List directives, newest first, a page at a time (cursor)",
          ...scoped("read"),
          parameters: listParams,
          responses: {
            "200": { description: "A page: items and next_cursor (null on the last page)" },
            "400": errors["400"],
            "401": errors["401"],
            "403": errors["403"],
          },
        },
        post: {
          summary: "Submit a directive and start its loop",
          ...scoped("submit"),
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
      ...viewPaths(errors, scoped),
      "/api/events": {
        get: {
          summary: "Directive changes as Server-Sent Events (one per ledger row; resume with " +
            "Last-Event-ID or ?after=)",
          ...scoped("read"),
          responses: {
            "200": { description: "text/event-stream", content: { "text/event-stream": {} } },
            "400": errors["400"],
          },
        },
      },
      "/api/directives/{id}/deliveries": readById(
        "The directive's webhook deliveries, each with its attempt log",
        "The deliveries",
      ),
      "/api/directives/{id}/approve": decision("Approve through the loop's Update", "approve"),
      "/api/directives/{id}/reject": decision("Reject through the loop's Update", "approve"),
      "/api/directives/{id}/abort": decision("Abort through the loop's Update", "abort"),
      "/api/directives/{id}/scores": action(
        "Record a late score for the directive, as the token's identity",
        "ScoreBody",
        { "201": { description: "Score recorded" } },
        "score",
      ),
      "/api/directives/{id}/artifacts/{artifactId}": {
        get: {
          summary: "Download an artifact body (streamed, verified against its sha256)",
          ...scoped("read"),
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
  error_id: z.string().optional().describe("On a 500: the id of the log line with the error"),
  scope: z.string().optional().describe("On a 403: the scope the route requires"),
});
