import { assertEquals, assertMatch, assertNotEquals, assertThrows } from "@std/assert";
import { parsePolicy } from "./config.ts";
import { canonicalJson, CanonicalJsonError, policyContentHash, SHA256_HEX } from "./hash.ts";

const TEXT = `{
  "name": "default",
  "version": "1",
  "allowed_types": ["noop", "echo"],
  "max_timebox_seconds": 3600,
  "budget_ceilings": { "noop": "1 USD", "echo": "$10.00" },
  "auto_approve_types": ["noop"],
  "approval_timeout_seconds": 86400
}`;

/** The same document with keys in reverse order at every depth and no whitespace. */
const REORDERED =
  `{"approval_timeout_seconds":86400,"auto_approve_types":["noop"],"budget_ceilings":` +
  `{"echo":"$10.00","noop":"1 USD"},"max_timebox_seconds":3600,` +
  `"allowed_types":["noop","echo"],"version":"1","name":"default"}`;

const hashOf = (text: string) => policyContentHash(parsePolicy(JSON.parse(text), "test"));

Deno.test("canonicalJson sorts keys at every depth, keeps array order, drops undefined", () => {
  assertEquals(
    canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }], u: undefined, n: null }),
    `{"a":[2,{"c":4,"d":3}],"b":1,"n":null}`,
  );
  assertEquals(canonicalJson({ x: { z: 1, y: 2 } }), canonicalJson({ x: { y: 2, z: 1 } }));
});

Deno.test("canonicalJson refuses values JSON cannot hold, naming the path", () => {
  const error = assertThrows(() => canonicalJson({ a: [1, Infinity] }), CanonicalJsonError);
  assertEquals(error.message, "Cannot write $.a[1] as JSON: Infinity is not finite");
  assertThrows(() => canonicalJson({ big: 1n }), CanonicalJsonError, "a bigint has no JSON form");
});

Deno.test("the policy hash is 64 hex chars and stable across key order and whitespace", () => {
  const hash = hashOf(TEXT);
  assertMatch(hash, SHA256_HEX);
  assertEquals(hashOf(REORDERED), hash);
  assertEquals(hashOf(JSON.stringify(JSON.parse(TEXT), null, 8)), hash);
});

Deno.test("the policy hash ignores defaults written out, and changes with any value", () => {
  const base = JSON.parse(TEXT);
  const hash = hashOf(TEXT);
  // Defaults filled in by parsing hash the same as when written out.
  assertEquals(hashOf(JSON.stringify({ ...base, scope_deny: [], net_allow: {} })), hash);
  const changed = [
    { ...base, version: "2" },
    { ...base, budget_ceilings: { ...base.budget_ceilings, echo: "$9.99" } },
    { ...base, allowed_types: ["echo", "noop"] },
    { ...base, scope_deny: ["secrets/*"] },
    { ...base, approval_timeout_seconds: 86399 },
  ];
  const hashes = changed.map((document) => hashOf(JSON.stringify(document)));
  for (const other of hashes) assertNotEquals(other, hash);
  assertEquals(new Set(hashes).size, hashes.length);
});

Deno.test("the shipped default policy has a hash", async () => {
  const text = await Deno.readTextFile(new URL("../../policies/default.json", import.meta.url));
  assertMatch(hashOf(text), SHA256_HEX);
});
