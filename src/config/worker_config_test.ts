import { assertEquals, assertThrows } from "@std/assert";
import { ConfigError, parseWorkerConfig } from "./mod.ts";

Deno.test("the worker caches 100 workflows unless KEEL_MAX_CACHED_WORKFLOWS says otherwise", () => {
  assertEquals(parseWorkerConfig({}).maxCachedWorkflows, 100);
  assertEquals(parseWorkerConfig({ KEEL_MAX_CACHED_WORKFLOWS: "2000" }).maxCachedWorkflows, 2000);
});

Deno.test("no cache, a cache of one workflow, a negative or a fractional one is refused, quoting the value", () => {
  for (const value of ["0", "1", "-5", "2.5", "many"]) {
    assertThrows(
      () => parseWorkerConfig({ KEEL_MAX_CACHED_WORKFLOWS: value }),
      ConfigError,
      `KEEL_MAX_CACHED_WORKFLOWS="${value}"`,
    );
  }
});
