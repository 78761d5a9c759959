import { assert, assertEquals } from "@std/assert";
import { ApplicationFailure } from "@temporalio/common";
import { ScopeError } from "../auth/tokens.ts";
import { DirectiveConflictError, DirectiveNotFoundError } from "../directives/mod.ts";
import { DecisionRefusedError, LoopTimeoutError } from "../loop/commands.ts";
import { errorKindOf, EXIT, toActivityFailure } from "./table.ts";

Deno.test("the error table gives each domain error one HTTP status, exit code and retry rule", () => {
  const conflict = new DirectiveConflictError("d", { status: "blocked", version: 2 }, "proposed");
  assertEquals(errorKindOf(conflict), {
    kind: "conflict",
    status: 409,
    exit: EXIT.refused,
    nonRetryable: true,
    public: true,
  });
  assertEquals(errorKindOf(new DirectiveNotFoundError("d"))?.status, 404);
  assertEquals(errorKindOf(new ScopeError("bob", "approve"))?.status, 403);
  assertEquals(errorKindOf(new DecisionRefusedError("no"))?.exit, EXIT.refused);
  assertEquals(errorKindOf(new LoopTimeoutError("slow"))?.exit, EXIT.unreachable);
  assertEquals(errorKindOf(new Error("anything else")), undefined);
});

Deno.test("toActivityFailure: a domain error becomes a typed ApplicationFailure; others pass", () => {
  const failure = toActivityFailure(new DirectiveNotFoundError("d"));
  assert(failure instanceof ApplicationFailure);
  assertEquals([failure.type, failure.nonRetryable], ["not_found", true]);
  const timeout = toActivityFailure(new LoopTimeoutError("slow"));
  assert(timeout instanceof ApplicationFailure);
  assertEquals(timeout.nonRetryable, false);
  const plain = new Error("transient");
  assertEquals(toActivityFailure(plain), plain);
});
