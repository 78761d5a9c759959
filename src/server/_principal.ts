/**
 * The principal a request acts as, checked against the scope its route needs.
 *
 * @module
 */
import type { Principal, Scope } from "../auth/principal.ts";
import { type ApiToken, authorize } from "../auth/tokens.ts";

/** The token settings authorization reads. */
export interface TokenDeps {
  /** The configured API tokens (hashes, names, scopes). */
  readonly tokens: readonly ApiToken[];
  /** Whether reads need no token (`KEEL_PUBLIC_READ=1`). */
  readonly publicRead?: boolean;
}

/** The request's principal; throws a 401/403 error when it lacks `scope`. */
export async function principalFor(
  deps: TokenDeps,
  request: Request,
  scope: Scope,
): Promise<Principal> {
  return await authorize(
    { tokens: deps.tokens, publicRead: deps.publicRead ?? false },
    request.headers.get("authorization"),
    scope,
  );
}
