/**
 * MCP over Streamable HTTP at `/mcp` on the API server, stateless: each POST
 * is authenticated by its bearer token and answered by a server built for
 * that principal, so no session outlives a request. The Host header was
 * already checked by the API (DNS rebinding); a browser's Origin must name an
 * allowed host too.
 *
 * @module
 */
import { WebStandardStreamableHTTPServerTransport } from "./_sdk.ts";
import { type ApiToken, authorize } from "../auth/tokens.ts";
import { McpOriginError } from "./errors.ts";
import { createMcpServer, type McpDeps } from "./server.ts";

/** What the `/mcp` route needs. */
export interface McpHttpDeps extends McpDeps {
  /** The configured API tokens. */
  readonly tokens: readonly ApiToken[];
  /** The largest request body. */
  readonly maxBodyBytes: number;
  /** Whether an Origin header names an allowed host. */
  readonly originAllowed: (origin: string) => boolean;
}

/** Answers one MCP request as the bearer token's principal. */
export async function handleMcpRequest(deps: McpHttpDeps, request: Request): Promise<Response> {
  const origin = request.headers.get("origin");
  if (origin !== null && !deps.originAllowed(origin)) throw new McpOriginError(origin);
  // Agents never read anonymously, whatever KEEL_PUBLIC_READ says.
  const principal = await authorize(
    { tokens: deps.tokens, publicRead: false },
    request.headers.get("authorization"),
    "read",
  );
  const server = createMcpServer(deps, principal);
  // No session id generator: stateless, one server per request.
  const transport = new WebStandardStreamableHTTPServerTransport({
    enableJsonResponse: true,
    maxRequestBodySize: deps.maxBodyBytes,
  });
  await server.connect(transport);
  try {
    return await transport.handleRequest(request);
  } finally {
    await server.close();
  }
}
