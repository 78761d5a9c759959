import { assertEquals } from "@std/assert";
import { createDirectiveSchema, DIRECTIVE_FIELDS } from "./directive.ts";

Deno.test("DIRECTIVE_FIELDS lists exactly the contract's keys, in order", () => {
  const schema = createDirectiveSchema({ moduleTypes: ["noop"] });
  assertEquals(Object.keys(schema.shape), [...DIRECTIVE_FIELDS]);
});
