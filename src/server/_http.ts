/**
 * HTTP plumbing of the API: problem+json answers, security headers, the
 * Host allow-list, a body reader that enforces the size limit as bytes
 * arrive, and zod parsing that names the bad field.
 *
 * @module
 */
import type { z } from "zod";
import { InputError } from "../errors/table.ts";

/** An error answered as problem+json with its own status (routing, limits, pruning). */
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

/** A problem+json response. */
export function problem(
  status: number,
  detail: string,
  extra: Record<string, unknown> = {},
): Response {
  return new Response(JSON.stringify({ type: "about:blank", status, detail, ...extra }), {
    status,
    headers: { "content-type": "application/problem+json" },
  });
}

/** A JSON response. */
export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

/** The Content-Security-Policy of every response: no inline script or style, no framing. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Sets the security headers every response carries. */
export function withSecurityHeaders(response: Response): Response {
  response.headers.set("content-security-policy", CONTENT_SECURITY_POLICY);
  response.headers.set("x-content-type-options", "nosniff");
  response.headers.set("referrer-policy", "no-referrer");
  response.headers.set("x-frame-options", "DENY");
  return response;
}

/** Hosts answered when none are configured: loopback names on any port. */
export const LOOPBACK_HOSTS: readonly string[] = ["localhost", "127.0.0.1", "[::1]"];

/**
 * Whether the Host header names this server: an allowed entry `host:port`
 * must match exactly, an entry without a port matches the host on any port.
 * Refusing other names defeats DNS rebinding.
 */
export function hostAllowed(host: string | null, allowed: readonly string[]): boolean {
  if (host === null) return false;
  const value = host.trim().toLowerCase();
  const name = value.replace(/:\d+$/, "");
  return allowed.some((entry) => {
    const e = entry.toLowerCase();
    return /:\d+$/.test(e) ? e === value : e === name;
  });
}

/**
 * Reads a request body, counting bytes as they arrive (chunked bodies too):
 * past `max` the read is cancelled and a 413 thrown at once, so an oversized
 * body is never buffered whole.
 */
export async function readBody(request: Request, max: number): Promise<Uint8Array> {
  const tooLarge = () => new ProblemError(413, `request body exceeds ${max} bytes`);
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > max) throw tooLarge();
  if (request.body === null) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.length;
  }
  return body;
}

/** Reads a JSON body within the limit; invalid JSON is a 400. */
export async function readJson(request: Request, max: number): Promise<unknown> {
  const bytes = await readBody(request, max);
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    throw new ProblemError(400, `request body is not valid JSON: ${(error as Error).message}`);
  }
}

/** Parses with a zod schema; failures are an {@linkcode InputError} naming each field. */
export function parse<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const errors = result.error.issues.map((i) => ({
      path: i.path.join(".") || String((i as { keys?: string[] }).keys?.join(",") ?? ""),
      message: i.message,
    }));
    throw new InputError(
      `invalid input: ${errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`,
      errors,
    );
  }
  return result.data;
}
