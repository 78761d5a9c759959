import { assertEquals, assertThrows } from "@std/assert";
import { parse as parseYaml } from "yaml";
import { createDirectiveSchema } from "../models/mod.ts";
import { DirectiveValidationError, parseDirective } from "./submit.ts";

const schema = createDirectiveSchema({ moduleTypes: ["echo"] });

function document(payload: string): unknown {
  return JSON.parse(`{
    "type": "echo", "issued_by": "agent:test", "objective": "say it",
    "scope": [], "constraints": [], "success_metrics": ["said"],
    "budget": {"amount": "1", "currency": "USD"}, "timebox": "1m",
    "idempotency_key": "proto-1", "payload": ${payload}
  }`);
}

Deno.test("a __proto__ key anywhere in a document is refused with its path, never dropped", () => {
  assertEquals(parseDirective(schema, document(`{"message": "hi"}`)).payload, { message: "hi" });
  for (
    const [payload, path] of [
      [`{"__proto__": {"admin": true}, "message": "hi"}`, "payload.__proto__"],
      [`{"list": [{"ok": 1}, {"__proto__": 1}], "message": "hi"}`, "payload.list[1].__proto__"],
    ] as const
  ) {
    const error = assertThrows(
      () => parseDirective(schema, document(payload)),
      DirectiveValidationError,
    );
    assertEquals(error.fields.map((f) => f.path), [path]);
  }
  // The YAML reader keeps such a key as data too, so the CLI refuses it the same way.
  const yaml = parseYaml(
    "type: echo\nissued_by: agent:test\nobjective: o\nscope: []\nconstraints: []\n" +
      "success_metrics: [s]\nbudget: {amount: '1', currency: USD}\ntimebox: 1m\n" +
      "idempotency_key: k\npayload: {__proto__: {admin: true}, message: hi}\n",
  );
  const error = assertThrows(() => parseDirective(schema, yaml), DirectiveValidationError);
  assertEquals(error.fields.map((f) => f.path), ["payload.__proto__"]);
});
