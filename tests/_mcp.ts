/**
 * The MCP SDK's client side, typed (see `src/mcp/_sdk.ts` for why each
 * import names its types), and a connected client for a test.
 */
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/streamableHttp"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
// @ts-types="@modelcontextprotocol/sdk/client/stdio"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

export { Client, StdioClientTransport, StreamableHTTPClientTransport };

/** A client connected to `base/mcp` with `token`. */
export async function httpClient(base: string, token: string): Promise<Client> {
  const client = new Client({ name: "keel-test-agent", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL("/mcp", base), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

/** Each tool call and its answer, in order, when a test wants a transcript. */
export const transcript: string[] = [];

/** A tool call's structured answer, or its error. */
export async function call(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<{ isError: boolean; body: Record<string, unknown> }> {
  const result = await client.callTool({ name, arguments: args });
  const content = result.content as { type: string; text?: string }[];
  const body = (result.structuredContent as Record<string, unknown> | undefined) ??
    { text: content.map((c) => c.text ?? "").join("\n") };
  transcript.push(`→ ${name} ${JSON.stringify(args)}`, `← ${JSON.stringify(body)}`);
  return { isError: result.isError === true, body };
}
