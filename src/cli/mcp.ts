/**
 * `deno task mcp`: MCP over stdio for an agent host, as a bridge to the API
 * server's `/mcp`. The process holds only the agent's token and the URL: no
 * database credentials and no decision key, so an agent that reads its own
 * environment learns nothing that lets it approve. Logs go to stderr; stdout
 * carries only MCP messages.
 *
 * @module
 */
import { StdioServerTransport, StreamableHTTPClientTransport } from "../mcp/_sdk.ts";
import process from "node:process";
import { parseMcpBridgeConfig, readEnv } from "../config/mod.ts";

const HELP = `deno task mcp: MCP over stdio for an agent host, bridged to Keel's /mcp.

Environment:
  KEEL_MCP_URL    the API server's /mcp (default http://127.0.0.1:8080/mcp)
  KEEL_MCP_TOKEN  the agent's API token (scopes read and submit); required

Reads MCP messages on stdin and writes answers on stdout; logs go to stderr.
The bridge holds no other secret. See docs/mcp.md.`;

async function main(): Promise<number> {
  if (Deno.args.includes("--help") || Deno.args.includes("-h")) {
    console.log(HELP);
    return 0;
  }
  const config = parseMcpBridgeConfig(
    readEnv(["KEEL_MCP_URL", "KEEL_MCP_TOKEN"], (name) => Deno.env.get(name)),
  );
  const upstream = new StreamableHTTPClientTransport(config.url, {
    requestInit: { headers: { authorization: `Bearer ${config.token}` } },
  });
  const local = new StdioServerTransport();
  const done = Promise.withResolvers<number>();
  local.onmessage = (message) => {
    upstream.send(message).catch((error) => {
      console.error(`keel mcp: ${config.url.href} refused a message: ${error.message}`);
      // Answer the request so the agent's host does not wait forever.
      if ("id" in message && "method" in message) {
        void local.send({
          jsonrpc: "2.0",
          id: message.id,
          error: { code: -32603, message: `Keel at ${config.url.href}: ${error.message}` },
        });
      }
    });
  };
  upstream.onmessage = (message) => void local.send(message);
  upstream.onerror = (error) => console.error(`keel mcp: ${error.message}`);
  local.onclose = () => done.resolve(0);
  // The host closing our stdin ends the session.
  process.stdin.once("end", () => done.resolve(0));
  await upstream.start();
  await local.start();
  console.error(`keel mcp: bridging stdio to ${config.url.href}`);
  const code = await done.promise;
  await upstream.close();
  return code;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (error) {
    console.error(`keel mcp: ${(error as Error).message}`);
    Deno.exit(2);
  }
}
