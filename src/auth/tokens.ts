/**
 * API tokens: configuration holds only a token's sha256 with its principal's
 * name and scopes; a request's bearer token is hashed and compared with every
 * configured hash in constant time. A token is printed once, when generated,
 * and never stored or logged.
 *
 * @module
 */
import { encodeHex } from "./_hex.ts";
import { hasScope, type Principal, type Scope } from "./principal.ts";

/** A configured token: who it authenticates, what it may do, and the hash of its secret. */
export interface ApiToken {
  /** The principal's name (the ledger actor). */
  readonly name: string;
  /** Its scopes. */
  readonly scopes: ReadonlySet<Scope>;
  /** The token's sha256, lowercase hex. */
  readonly sha256: string;
}

/** How requests are authenticated. */
export interface AuthConfig {
  /** The configured tokens. */
  readonly tokens: readonly ApiToken[];
  /** Whether reads need no token (`KEEL_PUBLIC_READ=1`). */
  readonly publicRead?: boolean;
}

/** Thrown when a request carries no valid bearer token (HTTP 401). */
export class AuthenticationError extends Error {
  /** Creates the error. */
  constructor(message = "a valid bearer token is required", options?: ErrorOptions) {
    super(message, options);
    this.name = "AuthenticationError";
  }
}

/** Thrown when the principal lacks the scope a route needs (HTTP 403). */
export class ScopeError extends Error {
  /** The scope that was needed. */
  readonly scope: Scope;
  /** Creates the error. */
  constructor(principal: string, scope: Scope, options?: ErrorOptions) {
    super(`principal "${principal}" lacks the scope "${scope}" this route requires`, options);
    this.name = "ScopeError";
    this.scope = scope;
  }
}

/** The sha256 of a token, lowercase hex: what configuration stores. */
export async function hashToken(token: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  return encodeHex(new Uint8Array(digest));
}

/** A new random token: `keel_` and 32 random bytes in base64url. */
export function generateToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const text = btoa(String.fromCharCode(...bytes));
  return `keel_${text.replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "")}`;
}

/** The `KEEL_API_TOKENS` entry for a token: `name:scope+scope:sha256hex`. */
export function tokenEntry(name: string, scopes: readonly Scope[], sha256: string): string {
  return `${name}:${scopes.join("+")}:${sha256}`;
}

function sameHex(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    diff |= (a.charCodeAt(i) || 0) ^ (b.charCodeAt(i) || 0);
  }
  return diff === 0;
}

/** The principal anonymous readers act as when `publicRead` is on. */
export const PUBLIC_PRINCIPAL: Principal = {
  name: "public",
  scopes: new Set<Scope>(["read"]),
  kind: "public",
};

/**
 * The principal a request acts as for `scope`, or a thrown
 * {@linkcode AuthenticationError} (no or wrong token) or
 * {@linkcode ScopeError} (the token lacks the scope). A request without a
 * token reads as the public principal only when `publicRead` is on; a wrong
 * token is refused even then.
 */
export async function authorize(
  config: AuthConfig,
  authorization: string | null,
  scope: Scope,
): Promise<Principal> {
  if (authorization === null || authorization === "") {
    if (scope === "read" && config.publicRead === true) return PUBLIC_PRINCIPAL;
    throw new AuthenticationError(`a bearer token with the scope "${scope}" is required`);
  }
  const token = authorization.startsWith("Bearer ") ? authorization.slice(7).trim() : "";
  if (token === "") {
    throw new AuthenticationError("the Authorization header must be Bearer <token>");
  }
  const hash = await hashToken(token);
  let found: ApiToken | undefined;
  for (const candidate of config.tokens) if (sameHex(candidate.sha256, hash)) found = candidate;
  if (found === undefined) throw new AuthenticationError("the bearer token is not valid");
  const principal: Principal = { name: found.name, scopes: found.scopes, kind: "token" };
  if (!hasScope(principal, scope)) throw new ScopeError(principal.name, scope);
  return principal;
}
