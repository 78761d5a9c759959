import fc from "fast-check";
import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  canTransition,
  IllegalTransitionError,
  isTerminal,
  nextStates,
  STATUSES,
  TRANSITIONS,
  validateTransition,
} from "./lifecycle.ts";
import type { DirectiveStatus } from "../models/mod.ts";

const RUNS = 2000;
const status = fc.constantFrom(...STATUSES);

Deno.test("the happy path and each exit are legal", () => {
  const path: DirectiveStatus[] = ["draft", "proposed", "approved", "executing", "complete"];
  for (let i = 1; i < path.length; i++) {
    assert(canTransition(path[i - 1]!, path[i]!), `${path[i - 1]} → ${path[i]}`);
  }
  assert(canTransition("proposed", "blocked"));
  for (const from of ["draft", "proposed", "approved", "executing"] as const) {
    assert(canTransition(from, "aborted"), `${from} → aborted`);
  }
  assertEquals(STATUSES.filter(isTerminal), ["complete", "blocked", "aborted"]);
});

Deno.test("illegal steps throw a typed error naming both states", () => {
  const error = assertThrows(
    () => validateTransition("draft", "executing"),
    IllegalTransitionError,
    `Cannot move a directive from "draft" to "executing"`,
  );
  assertEquals([error.from, error.to], ["draft", "executing"]);
  assertThrows(() => validateTransition("complete", "aborted"), IllegalTransitionError, "terminal");
  assertThrows(() => validateTransition("approved", "approved"), IllegalTransitionError);
});

Deno.test(`property (${RUNS} runs): random walks of legal steps never reach an illegal state`, () => {
  fc.assert(
    fc.property(fc.array(fc.nat(), { maxLength: 20 }), (choices) => {
      let current: DirectiveStatus = "draft";
      const seen: DirectiveStatus[] = [current];
      for (const choice of choices) {
        const options = nextStates(current);
        if (options.length === 0) break;
        const next = options[choice % options.length]!;
        validateTransition(current, next);
        current = next;
        seen.push(current);
      }
      // Never revisits a state: the lifecycle is acyclic.
      assertEquals(new Set(seen).size, seen.length);
      assert(STATUSES.includes(current));
      return true;
    }),
    { numRuns: RUNS },
  );
});

Deno.test(`property (${RUNS} runs): arbitrary requested steps are accepted exactly when in the table`, () => {
  fc.assert(
    fc.property(fc.array(status, { maxLength: 30 }), (requests) => {
      let current: DirectiveStatus = "draft";
      for (const to of requests) {
        const legal = TRANSITIONS[current].includes(to);
        let accepted = true;
        try {
          validateTransition(current, to);
        } catch (error) {
          assert(error instanceof IllegalTransitionError);
          accepted = false;
        }
        assertEquals(accepted, legal);
        if (accepted) current = to;
      }
      return true;
    }),
    { numRuns: RUNS },
  );
});

Deno.test(`property (${RUNS} runs): terminal states have no exits`, () => {
  fc.assert(
    fc.property(status, status, (from, to) => {
      if (isTerminal(from)) {
        assertEquals(nextStates(from), []);
        assert(!canTransition(from, to));
      }
      return true;
    }),
    { numRuns: RUNS },
  );
});
