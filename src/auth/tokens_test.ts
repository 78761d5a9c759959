import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { parseServerConfig } from "../config/mod.ts";
import { parseTokenList } from "./token_list.ts";
import {
  AuthenticationError,
  authorize,
  generateToken,
  hashToken,
  ScopeError,
  tokenEntry,
} from "./tokens.ts";

Deno.test("a generated token's entry parses back to its name, scopes and hash", async () => {
  const token = generateToken();
  const entry = tokenEntry("alice", ["read", "approve"], await hashToken(token));
  const [parsed] = parseTokenList(`${entry}, bob:admin:${"a".repeat(64)}`);
  assertEquals(parsed?.name, "alice");
  assertEquals([...parsed!.scopes], ["read", "approve"]);
  const config = { tokens: parseTokenList(entry) };
  assertEquals((await authorize(config, `Bearer ${token}`, "approve")).name, "alice");
  await assertRejects(() => authorize(config, `Bearer ${token}`, "submit"), ScopeError);
  await assertRejects(() => authorize(config, `Bearer ${token}x`, "read"), AuthenticationError);
  await assertRejects(() => authorize(config, null, "read"), AuthenticationError);
  assertEquals((await authorize({ ...config, publicRead: true }, null, "read")).kind, "public");
  await assertRejects(
    () => authorize({ ...config, publicRead: true }, null, "submit"),
    AuthenticationError,
  );
});

Deno.test("bad KEEL_API_TOKENS entries are named, and no token or hash is echoed", () => {
  const secret = "plaintext-secret-token-value";
  const error = assertThrows(() =>
    parseServerConfig({
      KEEL_API_TOKENS: `alice:${secret},${secret},bob:read+fly:${"b".repeat(64)},carol:read:${
        "c".repeat(63)
      }`,
    })
  );
  const message = (error as Error).message;
  assert(!message.includes(secret), message);
  assert(!message.includes("c".repeat(63)), message);
  assert(message.includes(`entry 1 ("alice") has 2 part(s)`), message);
  assert(message.includes("entry 2 has 1 part(s)"), message);
  assert(message.includes(`entry 3 ("bob") scopes "fly"`), message);
  assert(message.includes(`entry 4 ("carol") sha256`), message);
  assertThrows(() => parseTokenList(`a:read:${"d".repeat(64)},a:read:${"e".repeat(64)}`));
});

Deno.test("the allowed hosts default to the listen host, localhost and 127.0.0.1 with the port", () => {
  const config = parseServerConfig({ KEEL_HTTP_HOST: "10.0.0.5", KEEL_HTTP_PORT: "9000" });
  assertEquals(config.allowedHosts, ["10.0.0.5:9000", "localhost:9000", "127.0.0.1:9000"]);
  assertEquals(config.tokens, []);
  assertEquals(config.publicRead, false);
});
