/**
 * Helpers for tests of the HTTP API: tokens with scopes, an in-process server
 * over the loop harness, and requests.
 */
import { assertEquals } from "@std/assert";
import type { Scope } from "../src/auth/principal.ts";
import { type ApiToken, hashToken } from "../src/auth/tokens.ts";
import { type AppDeps, createHandler } from "../src/server/app.ts";
import { builtinSchema } from "./_directives.ts";
import { type LoopHarness, type LoopHarnessOptions, startLoopHarness } from "./_loop.ts";

/** A token and its configured entry. */
export interface TestToken {
  /** The secret a client sends. */
  readonly token: string;
  /** What configuration holds. */
  readonly entry: ApiToken;
}

/** A token for `name` with `scopes`. */
export async function testToken(name: string, scopes: readonly Scope[]): Promise<TestToken> {
  const token = `test-token-${name}-${crypto.randomUUID()}`;
  return { token, entry: { name, scopes: new Set(scopes), sha256: await hashToken(token) } };
}

/** Runs `fn` against an in-process API on port 0 over a loop harness (`deps` may depend on it). */
export async function withApi(
  depsOrFor:
    | Partial<AppDeps> & { tokens: readonly ApiToken[] }
    | ((h: LoopHarness) => Partial<AppDeps> & { tokens: readonly ApiToken[] }),
  fn: (base: string, h: LoopHarness) => Promise<void>,
  options: LoopHarnessOptions = {},
): Promise<void> {
  const h = await startLoopHarness(options);
  const deps = typeof depsOrFor === "function" ? depsOrFor(h) : depsOrFor;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    createHandler({
      sql: h.sql,
      target: h.target,
      schema: builtinSchema(),
      maxBodyBytes: 4096,
      artifacts: h.artifacts,
      ...deps,
    }),
  );
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`, h);
  } finally {
    await server.shutdown();
    await h.stop();
  }
}

/** A GET, with a bearer token when given. */
export function get(url: string, token?: string): Promise<Response> {
  return fetch(url, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
}

/** A JSON POST, with a bearer token when given. */
export function post(url: string, body: unknown, token?: string): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Asserts a problem+json answer with `status` and returns its body. */
export async function problemOf(
  response: Response,
  status: number,
): Promise<Record<string, unknown>> {
  const body = await response.json();
  assertEquals(response.status, status, JSON.stringify(body));
  assertEquals(response.headers.get("content-type"), "application/problem+json");
  assertEquals(body.status, status);
  return body;
}

/**
 * Polls `http://127.0.0.1:<port>/healthz` every half second, up to a minute, until it answers 200;
 * false when it never does (a launched server still starting, or one that exited).
 */
export async function answersHealthz(port: number): Promise<boolean> {
  for (let i = 0; i < 120; i++) {
    try {
      const answer = await fetch(`http://127.0.0.1:${port}/healthz`);
      await answer.body?.cancel();
      if (answer.status === 200) return true;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return false;
}
