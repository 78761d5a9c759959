/**
 * Parsing `KEEL_API_TOKENS`: `name:scope+scope:sha256hex,...`. Errors name
 * the entry by position (and by name when the name is well-formed) and never
 * echo what could be a secret.
 *
 * @module
 */
import { z } from "zod";
import { PrincipalName, type Scope, ScopeName } from "./principal.ts";
import type { ApiToken } from "./tokens.ts";

const Entry = z.strictObject({
  name: PrincipalName,
  scopes: z.array(ScopeName).min(1, "must name at least one scope"),
  sha256: z.string().regex(
    /^[0-9a-f]{64}$/,
    "must be the token's sha256 as 64 lowercase hex characters (`deno task keel token new` prints it)",
  ),
});

/** Thrown when `KEEL_API_TOKENS` is malformed; the message lists every bad entry. */
export class TokenListError extends Error {
  /** One line per problem. */
  readonly problems: readonly string[];
  /** Creates the error. */
  constructor(problems: readonly string[], options?: ErrorOptions) {
    super(`KEEL_API_TOKENS: ${problems.join("; ")}`, options);
    this.name = "TokenListError";
    this.problems = problems;
  }
}

/** Parses the token list; an unset or empty value gives no tokens. */
export function parseTokenList(text: string | undefined): ApiToken[] {
  if (text === undefined || text.trim() === "") return [];
  const tokens: ApiToken[] = [];
  const problems: string[] = [];
  const names = new Set<string>();
  const hashes = new Set<string>();
  text.split(",").forEach((raw, index) => {
    const parts = raw.trim().split(":");
    const label = parts.length >= 2 && PrincipalName.safeParse(parts[0]).success
      ? `entry ${index + 1} ("${parts[0]}")`
      : `entry ${index + 1}`;
    if (parts.length !== 3) {
      problems.push(
        `${label} has ${parts.length} part(s); expected name:scope+scope:sha256hex`,
      );
      return;
    }
    const parsed = Entry.safeParse({
      name: parts[0],
      scopes: (parts[1] ?? "").split("+").filter((s) => s !== ""),
      sha256: parts[2],
    });
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const field = String(issue.path[0] ?? "entry");
        // A scope name is no secret; the hash field is never echoed.
        const value = field === "scopes" && issue.path.length > 1
          ? ` "${(parts[1] ?? "").split("+").filter((s) => s !== "")[Number(issue.path[1])]}"`
          : "";
        problems.push(`${label} ${field}${value}: ${issue.message}`);
      }
      return;
    }
    const { name, scopes, sha256 } = parsed.data;
    if (names.has(name)) problems.push(`${label} repeats the name "${name}"`);
    if (hashes.has(sha256)) problems.push(`${label} repeats another entry's token hash`);
    names.add(name);
    hashes.add(sha256);
    tokens.push({ name, scopes: new Set<Scope>(scopes), sha256 });
  });
  if (problems.length > 0) throw new TokenListError(problems);
  return tokens;
}
