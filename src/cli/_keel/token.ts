/**
 * `keel token new`: generates an API token, prints it once, and prints the
 * `KEEL_API_TOKENS` entry (name, scopes, sha256) to add to the server's
 * configuration. The token itself is stored nowhere.
 *
 * @module
 */
import { PrincipalName, type Scope, ScopeName, SCOPES } from "../../auth/principal.ts";
import { generateToken, hashToken, tokenEntry } from "../../auth/tokens.ts";
import { type Context, EXIT, parseCommand, printJson, usage } from "./common.ts";

/** `keel token new --name N --scopes read,approve`. */
export async function tokenCommand(ctx: Context, args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommand("token", args, {
    name: { type: "string" },
    scopes: { type: "string" },
  }, { min: 1, max: 1, names: "new" });
  if (positionals[0] !== "new") {
    throw usage("token", `unknown subcommand "${positionals[0]}"; the one subcommand is "new"`);
  }
  const name = values.name;
  if (typeof name !== "string") throw usage("token", "--name is required");
  const checkedName = PrincipalName.safeParse(name);
  if (!checkedName.success) {
    throw usage("token", `--name "${name.slice(0, 80)}" ${checkedName.error.issues[0]?.message}`);
  }
  if (typeof values.scopes !== "string") {
    throw usage("token", `--scopes is required (comma-separated: ${SCOPES.join(", ")})`);
  }
  const scopes: Scope[] = [];
  for (const text of values.scopes.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const scope = ScopeName.safeParse(text);
    if (!scope.success) {
      throw usage("token", `--scopes: "${text}" is not one of ${SCOPES.join(", ")}`);
    }
    if (!scopes.includes(scope.data)) scopes.push(scope.data);
  }
  if (scopes.length === 0) throw usage("token", "--scopes names no scope");
  const token = generateToken();
  const entry = tokenEntry(name, scopes, await hashToken(token));
  if (ctx.json) {
    printJson(ctx, { name, scopes, token, entry });
    return EXIT.ok;
  }
  ctx.io.out(`token for "${name}" (shown once; keep it secret): ${token}`);
  ctx.io.out(`add this entry to KEEL_API_TOKENS (comma-separated) and restart the server:`);
  ctx.io.out(entry);
  return EXIT.ok;
}
