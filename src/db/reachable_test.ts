import { assertEquals, assertRejects } from "@std/assert";
import { isConnectionError, untilReachable } from "./reachable.ts";

function failing(code: string): Error {
  return Object.assign(new Error(`failed with ${code}`), { code });
}

Deno.test("connection errors are told from refused statements by their code", () => {
  for (const code of ["ECONNREFUSED", "ECONNRESET", "EPIPE", "CONNECTION_CLOSED", "57P03"]) {
    assertEquals(isConnectionError(failing(code)), true, code);
  }
  for (const code of ["23505", "22P02", "40001", "ENOENT"]) {
    assertEquals(isConnectionError(failing(code)), false, code);
  }
  assertEquals(isConnectionError(new Error("no code")), false);
  assertEquals(isConnectionError(undefined), false);
});

Deno.test("untilReachable waits out connection errors, says so once, and rethrows others", async () => {
  const errors = [failing("ECONNREFUSED"), failing("EPIPE")];
  const firsts: unknown[] = [];
  let waits = 0;
  const value = await untilReachable(() => {
    const next = errors.shift();
    return next ? Promise.reject(next) : Promise.resolve("recorded");
  }, { onWait: () => waits++, onFirstFailure: (error) => firsts.push(error) });
  assertEquals(value, "recorded");
  assertEquals(waits, 2);
  assertEquals(firsts.map((error) => (error as { code: string }).code), ["ECONNREFUSED"]);

  let calls = 0;
  await assertRejects(
    () => untilReachable(() => (calls++, Promise.reject(failing("23505")))),
    Error,
    "failed with 23505",
  );
  assertEquals(calls, 1);
});
