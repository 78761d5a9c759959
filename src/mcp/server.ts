/**
 * Keel as an MCP server: the tools of `tools.ts` and three resources (the
 * directive JSON Schema, the active policy, the example directives), for one
 * authenticated principal. Each transport builds one of these per principal;
 * the input schemas come from the same zod contract the API checks.
 *
 * @module
 */
import { McpServer } from "./_sdk.ts";
import { z } from "zod";
import type { Principal } from "../auth/principal.ts";
import { LIST_LIMIT_MAX } from "../directives/queries.ts";
import { DirectiveValidationError } from "../directives/mod.ts";
import { errorKindOf, InputError } from "../errors/table.ts";
import { DIRECTIVE_STATUSES } from "../models/mod.ts";
import { directiveJsonSchema } from "../models/directive_json_schema.ts";
import { MEMORY_MAX_LIMIT } from "../memory/mod.ts";
import type { PolicyConfig } from "../policy/mod.ts";
import {
  abortMyDirective,
  type AgentToolDeps,
  ARTIFACT_MAX_BYTES,
  getArtifact,
  getDirective,
  listMyDirectives,
  proposeDirective,
  searchMemory,
  WAIT_MAX_SECONDS,
  waitForDirective,
} from "./tools.ts";

/** What the MCP server needs beyond the tools' dependencies. */
export interface McpDeps extends AgentToolDeps {
  /** The registered module types (for the directive JSON Schema). */
  readonly moduleTypes: readonly string[];
  /** The active policy, served as a resource when known. */
  readonly policy?: PolicyConfig | undefined;
  /** The folder of example directives served as resources. */
  readonly examplesDir?: URL;
}

/** The server's name and version as MCP clients see them. */
export const MCP_SERVER_INFO = { name: "keel", version: "0.1.0" } as const;

/** The names of the tools an agent gets; none of them approves, rejects or scores. */
export const AGENT_TOOLS = [
  "propose_directive",
  "get_directive",
  "list_my_directives",
  "wait_for_directive",
  "get_artifact",
  "search_memory",
  "abort_my_directive",
] as const;

const uuid = z.uuid({ error: "must be a directive id (a UUID)" });

/** A tool's answer: the JSON as text and as structured content. */
function answer(value: unknown) {
  const structured = JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
  return {
    content: [{ type: "text" as const, text: JSON.stringify(structured, null, 2) }],
    structuredContent: structured,
  };
}

/**
 * A refused call as a tool error: field errors listed, a public error's
 * message kept, anything else named only as internal.
 */
function refusal(error: unknown) {
  const fields = error instanceof DirectiveValidationError || error instanceof InputError
    ? error.fields
    : undefined;
  const known = errorKindOf(error);
  const message = known?.public === true
    ? (error as Error).message
    : "internal error; the server's log has the details";
  const body = { error: message, ...(fields === undefined ? {} : { errors: fields }) };
  return {
    content: [{ type: "text" as const, text: JSON.stringify(body, null, 2) }],
    structuredContent: body,
    isError: true,
  };
}

async function run<T>(fn: () => Promise<T>) {
  try {
    return answer(await fn());
  } catch (error) {
    return refusal(error);
  }
}

/** The directive contract as a JSON Schema, for `propose_directive`'s input. */
function contractShape(moduleTypes: readonly string[]) {
  const { $schema: _ignored, ...schema } = directiveJsonSchema(moduleTypes) as Record<
    string,
    unknown
  >;
  // Advertised as the contract; checked by submit itself, so a bad document
  // answers every field error at once and stores nothing.
  return { directive: z.unknown().meta(schema) };
}

/** An MCP server acting as `principal`. */
export function createMcpServer(deps: McpDeps, principal: Principal): McpServer {
  const server = new McpServer(MCP_SERVER_INFO, {
    instructions: "Keel governs what agents do: propose a directive, then follow it. " +
      "A policy and named people decide; no tool here approves.",
  });
  server.registerTool("propose_directive", {
    description: "Submit a directive (the frozen intent). Answers its id and the policy's " +
      "verdict with its reason, or every field error; nothing is stored for a bad document.",
    inputSchema: contractShape(deps.moduleTypes),
  }, ({ directive }) => run(() => proposeDirective(deps, principal, directive)));
  server.registerTool("get_directive", {
    description: "A directive with its ledger, verdicts, approvals, runs, artifacts, evaluations.",
    inputSchema: { id: uuid },
    annotations: { readOnlyHint: true },
  }, ({ id }) => run(() => getDirective(deps, principal, id)));
  server.registerTool("list_my_directives", {
    description: "The directives this principal submitted, newest first.",
    inputSchema: {
      status: z.enum(DIRECTIVE_STATUSES).optional(),
      limit: z.number().int().min(1).max(LIST_LIMIT_MAX).default(20),
      cursor: z.string().min(1).max(200).optional(),
    },
    annotations: { readOnlyHint: true },
  }, (args) => run(() => listMyDirectives(deps, principal, args)));
  server.registerTool("wait_for_directive", {
    description: `Wait until a directive's status differs from \`seen\` (default: its ` +
      `current status) or ${WAIT_MAX_SECONDS} s at most pass; answers the status.`,
    inputSchema: {
      id: uuid,
      seen: z.enum(DIRECTIVE_STATUSES).optional(),
      timeout_seconds: z.number().int().min(1).max(WAIT_MAX_SECONDS).default(20),
    },
    annotations: { readOnlyHint: true },
  }, ({ id, seen, timeout_seconds }, extra) =>
    run(() =>
      waitForDirective(
        deps,
        principal,
        { id, seen, timeoutSeconds: timeout_seconds },
        extra.signal,
      )
    ));
  server.registerTool("get_artifact", {
    description: "An artifact's body (text, or base64), verified against its sha256.",
    inputSchema: {
      directive_id: uuid,
      artifact_id: z.uuid({ error: "must be an artifact id (a UUID)" }),
      max_bytes: z.number().int().min(1).max(ARTIFACT_MAX_BYTES).default(256 * 1024),
    },
    annotations: { readOnlyHint: true },
  }, (args) =>
    run(() =>
      getArtifact(deps, principal, {
        directiveId: args.directive_id,
        artifactId: args.artifact_id,
        maxBytes: args.max_bytes,
      })
    ));
  server.registerTool("search_memory", {
    description: "Directives whose objective contains the text, newest first.",
    inputSchema: {
      query: z.string().trim().min(1).max(200),
      limit: z.number().int().min(1).max(MEMORY_MAX_LIMIT).default(10),
    },
    annotations: { readOnlyHint: true },
  }, (args) => run(() => searchMemory(deps, principal, args)));
  server.registerTool("abort_my_directive", {
    description: "Abort a directive this principal submitted; signed and recorded.",
    inputSchema: { id: uuid, reason: z.string().trim().min(1).max(1000) },
    annotations: { destructiveHint: true },
  }, (args) => run(() => abortMyDirective(deps, principal, args)));
  registerResources(server, deps);
  return server;
}

function registerResources(server: McpServer, deps: McpDeps): void {
  const json = (uri: URL, value: unknown) => ({
    contents: [{
      uri: uri.href,
      mimeType: "application/json",
      text: JSON.stringify(value, null, 2),
    }],
  });
  server.registerResource("directive-schema", "keel://schema/directive", {
    description: "The directive contract as JSON Schema",
    mimeType: "application/json",
  }, (uri) => json(uri, directiveJsonSchema(deps.moduleTypes)));
  if (deps.policy !== undefined) {
    const policy = deps.policy;
    server.registerResource("policy", "keel://policy/active", {
      description: "The policy this server's loops are decided by",
      mimeType: "application/json",
    }, (uri) => json(uri, policy));
  }
  if (deps.examplesDir !== undefined) registerExamples(server, deps.examplesDir);
}

function registerExamples(server: McpServer, dir: URL): void {
  let names: string[] = [];
  try {
    names = [...Deno.readDirSync(dir)]
      .filter((e) => e.isFile && /\.(json|ya?ml)$/.test(e.name))
      .map((e) => e.name)
      .sort();
  } catch {
    return; // No examples shipped beside this server.
  }
  for (const name of names) {
    server.registerResource(`example-${name}`, `keel://examples/${name}`, {
      description: `An example directive (${name})`,
      mimeType: name.endsWith(".json") ? "application/json" : "application/yaml",
    }, async (uri) => ({
      contents: [{ uri: uri.href, text: await Deno.readTextFile(new URL(name, dir)) }],
    }));
  }
}
