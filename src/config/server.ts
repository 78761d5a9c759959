/**
 * The HTTP API and MCP bridge sections, and their parsers. Tokens are never
 * echoed in an error.
 *
 * @module
 */
import { z } from "zod";
import type { ApiToken } from "../auth/tokens.ts";
import { parseTokenList, TokenListError } from "../auth/token_list.ts";
import {
  ConfigError,
  envSection,
  type EnvSnapshot,
  envVar,
  httpUrl,
  intVar,
  parseSections,
  timeoutMs,
} from "./_env.ts";

/** The HTTP API and dashboard (`deno task serve`). */
export const SERVER_SECTION = envSection({
  title: "HTTP API and dashboard (deno task serve)",
  vars: {
    KEEL_HTTP_HOST: envVar(z.string().min(1).max(255), {
      default: "127.0.0.1",
      description: "Address the HTTP API listens on.",
    }),
    KEEL_HTTP_PORT: envVar(intVar(0, 65535), {
      default: "8080",
      description: "Port the HTTP API listens on.",
    }),
    KEEL_API_TOKENS: envVar(z.string(), {
      secret: true,
      description: "API tokens as name:scope+scope:sha256hex,... (scopes: read, submit, " +
        "approve, abort, score, admin; the name is the ledger actor). `deno task keel token new " +
        "--name N --scopes read,approve` prints a token once and its entry. Unset: every /api " +
        "route answers 401.",
    }),
    KEEL_PUBLIC_READ: envVar(z.enum(["0", "1"]), {
      default: "0",
      description: "1: GET /api routes need no token (anyone who reaches the server reads " +
        "everything).",
    }),
    KEEL_ALLOWED_HOSTS: envVar(z.string().max(4000), {
      description: "Host header values answered, comma-separated (host:port, or host for any " +
        "port); unset: the listen host, localhost and 127.0.0.1 with the port. Others answer 421 " +
        "(DNS rebinding).",
    }),
    KEEL_HTTP_MAX_BODY_BYTES: envVar(intVar(1024, 64 * 1024 * 1024), {
      default: "262144",
      description: "Largest request body the HTTP API accepts (counted as it arrives, chunked " +
        "bodies too).",
    }),
    KEEL_HTTP_REQUEST_TIMEOUT_MS: envVar(timeoutMs, {
      default: "30000",
      description: "Milliseconds an HTTP request may take before it answers 503 and is abandoned.",
    }),
    KEEL_CORS_ORIGIN: envVar(z.url(), {
      description: "Origin allowed by CORS; unset: CORS is off.",
    }),
    KEEL_TEMPORAL_UI_URL: envVar(z.url(), {
      default: "http://127.0.0.1:8233",
      description: "Temporal UI base URL the dashboard links to.",
    }),
  },
});

/** The stdio MCP bridge (`deno task mcp`). */
export const MCP_SECTION = envSection({
  title: "MCP bridge (deno task mcp)",
  vars: {
    KEEL_MCP_URL: envVar(httpUrl, {
      default: "http://127.0.0.1:8080/mcp",
      description: "Where `deno task mcp` (the stdio bridge an agent host runs) forwards MCP " +
        "messages: the API server's /mcp route.",
    }),
    KEEL_MCP_TOKEN: envVar(
      z.string().regex(/^\S{8,500}$/, "must be an API token (8 to 500 characters, no spaces)"),
      {
        secret: true,
        description: "The agent's API token for `deno task mcp` (give it read and submit, never " +
          "approve). The bridge holds no other secret: no database URL, no decision key.",
      },
    ),
  },
  check(env, issue) {
    if (env.KEEL_MCP_TOKEN === undefined) issue("KEEL_MCP_TOKEN", "is required");
  },
});

/** Configuration of the HTTP API. */
export interface ServerConfig {
  /** Listen address. */
  readonly host: string;
  /** Listen port. */
  readonly port: number;
  /** The configured API tokens (hashes with names and scopes). */
  readonly tokens: readonly ApiToken[];
  /** Whether reads need no token (`KEEL_PUBLIC_READ=1`). */
  readonly publicRead: boolean;
  /** Host header values the server answers (`host` or `host:port`). */
  readonly allowedHosts: readonly string[];
  /** Largest accepted request body. */
  readonly maxBodyBytes: number;
  /** Milliseconds a request may take before it answers 503. */
  readonly requestTimeoutMs: number;
  /** The CORS origin, or undefined when CORS is off. */
  readonly corsOrigin: string | undefined;
  /** The Temporal UI base URL. */
  readonly temporalUiUrl: string;
}

/**
 * Parses `KEEL_API_TOKENS` (`name:scope+scope:sha256hex,...`); errors name the
 * bad entry and never echo a token or hash.
 */
export function parseApiTokens(text: string | undefined): ApiToken[] {
  try {
    return parseTokenList(text);
  } catch (error) {
    if (!(error instanceof TokenListError)) throw error;
    throw new ConfigError(
      `Invalid configuration:\n${error.problems.map((p) => `  KEEL_API_TOKENS: ${p}`).join("\n")}`,
      { cause: error },
    );
  }
}

function hostWithPort(host: string, port: number): string {
  return `${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}:${port}`;
}

/** Parses the HTTP API configuration. */
export function parseServerConfig(env: EnvSnapshot): ServerConfig {
  const parsed = parseSections(env, SERVER_SECTION);
  const allowedHosts = parsed.KEEL_ALLOWED_HOSTS === undefined
    ? [...new Set([parsed.KEEL_HTTP_HOST, "localhost", "127.0.0.1"])].map((h) =>
      hostWithPort(h, parsed.KEEL_HTTP_PORT)
    )
    : parsed.KEEL_ALLOWED_HOSTS.split(",").map((h) => h.trim().toLowerCase()).filter((h) =>
      h !== ""
    );
  return {
    host: parsed.KEEL_HTTP_HOST,
    port: parsed.KEEL_HTTP_PORT,
    tokens: parseApiTokens(parsed.KEEL_API_TOKENS),
    publicRead: parsed.KEEL_PUBLIC_READ === "1",
    allowedHosts,
    maxBodyBytes: parsed.KEEL_HTTP_MAX_BODY_BYTES,
    requestTimeoutMs: parsed.KEEL_HTTP_REQUEST_TIMEOUT_MS,
    corsOrigin: parsed.KEEL_CORS_ORIGIN,
    temporalUiUrl: parsed.KEEL_TEMPORAL_UI_URL.replace(/\/$/, ""),
  };
}

/** What `deno task mcp` forwards to, and as whom. */
export interface McpBridgeConfig {
  /** The API server's `/mcp` URL. */
  readonly url: URL;
  /** The agent's bearer token. */
  readonly token: string;
}

/** Parses the stdio bridge's configuration; an error never echoes the token. */
export function parseMcpBridgeConfig(env: EnvSnapshot): McpBridgeConfig {
  const parsed = parseSections(env, MCP_SECTION);
  return { url: new URL(parsed.KEEL_MCP_URL), token: parsed.KEEL_MCP_TOKEN ?? "" };
}
