/**
 * The OpenAPI entries of the dashboard's reads: the directive page's answer,
 * the payload download, the inbox and the aggregates, generated from the
 * schemas in `views.ts`.
 *
 * @module
 */
import { z } from "zod";
import {
  BlockReasonsQuery,
  DirectiveView,
  InboxQuery,
  InboxView,
  StatsQuery,
  StatsViews,
} from "./views.ts";

type Json = Record<string, unknown>;

/** Component schemas of the views, by name. */
export function viewSchemas(): Json {
  const schemas: Json = {
    DirectiveView: z.toJSONSchema(DirectiveView),
    InboxView: z.toJSONSchema(InboxView),
  };
  for (const [name, schema] of Object.entries(StatsViews)) {
    schemas[`Stats_${name.replaceAll("-", "_")}`] = z.toJSONSchema(schema);
  }
  return schemas;
}

function queryParams(schema: z.ZodObject): Json[] {
  const properties = (z.toJSONSchema(schema, { io: "input" }) as { properties: Json }).properties;
  return Object.entries(properties).map(([name, s]) => ({
    name,
    in: "query",
    required: false,
    schema: s,
  }));
}

const ok = (description: string, schema: string) => ({
  description,
  content: { "application/json": { schema: { $ref: `#/components/schemas/${schema}` } } },
});

/**
 * The paths of the views; `errors` are the shared problem answers and
 * `scoped` marks an operation's scope.
 */
export function viewPaths(errors: Record<string, Json>, scoped: (scope: string) => Json): Json {
  const idParam = {
    name: "id",
    in: "path",
    required: true,
    schema: { type: "string", format: "uuid" },
  };
  const reads = { "400": errors["400"], "401": errors["401"], "403": errors["403"] };
  const paths: Json = {
    "/api/directives/{id}": {
      get: {
        summary: "The directive page: the frozen contract, budget spent and reserved, the module " +
          "and its permissions, each policy rule's result, deadline, quorum, timeline; plus the " +
          "ledger, verdicts, approvals, runs, artifacts and evaluations",
        ...scoped("read"),
        parameters: [idParam],
        responses: { "200": ok("The directive", "DirectiveView"), "404": errors["404"] },
      },
    },
    "/api/directives/{id}/payload": {
      get: {
        summary: "The directive's payload as an indented JSON download",
        ...scoped("read"),
        parameters: [idParam],
        responses: { "200": { description: "The payload" }, "404": errors["404"] },
      },
    },
    "/api/inbox": {
      get: {
        summary: "Directives waiting for a decision, oldest first, with budget, wait and deadline",
        ...scoped("read"),
        parameters: queryParams(InboxQuery),
        responses: { "200": ok("The inbox", "InboxView"), ...reads },
      },
    },
  };
  for (const [name, schema] of Object.entries(StatsViews)) {
    paths[`/api/stats/${name}`] = {
      get: {
        summary: `Over the last \`days\` whole UTC days: ${schema.description}`,
        ...scoped("read"),
        parameters: queryParams(name === "block-reasons" ? BlockReasonsQuery : StatsQuery),
        responses: { "200": ok("The aggregate", `Stats_${name.replaceAll("-", "_")}`), ...reads },
      },
    };
  }
  return paths;
}
