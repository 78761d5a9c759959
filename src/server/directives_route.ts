/**
 * The `/api/directives` routes: list, submit, the directive page, decisions,
 * late scores, the payload and artifact downloads.
 *
 * @module
 */
import { ArtifactNotFoundError, openArtifact } from "../artifacts/mod.ts";
import { artifactOf, listDirectives, loadDirective } from "../directives/queries.ts";
import { recordLateScore } from "../evaluation/mod.ts";
import { submitAndStart } from "../loop/mod.ts";
import { decide } from "../loop/commands.ts";
import { deliveriesOf } from "../notifications/mod.ts";
import type { Logger } from "../telemetry/log.ts";
import { json, parse, ProblemError, readJson } from "./_http.ts";
import type { AppDeps } from "./app.ts";
import { principalFor } from "./_principal.ts";
import { directiveView } from "./directive_view.ts";
import { DecisionBody, ListQuery, ScoreBody } from "./openapi.ts";

/** Answers a `/api/directives` request, or undefined when no route matches. */
export async function directivesRoute(
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
    return json(await directiveView(deps, id, new Date()));
  }
  if (parts.length === 4 && method === "GET" && parts[3] === "deliveries") {
    await principalFor(deps, request, "read");
    await loadDirective(deps.sql, id);
    return json({ items: await deliveriesOf(deps.sql, id) });
  }
  if (parts.length === 4 && parts[3] === "payload" && method === "GET") {
    await principalFor(deps, request, "read");
    const directive = await loadDirective(deps.sql, id);
    return new Response(JSON.stringify(directive.payload ?? {}, null, 2), {
      headers: {
        "content-type": "application/json",
        "content-disposition": `attachment; filename="directive-${directive.id}-payload.json"`,
      },
    });
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
