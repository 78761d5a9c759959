import { assertEquals } from "@std/assert";
import { timelineOf } from "./timeline.ts";

const t = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms);

Deno.test("timelineOf: each phase lasts until the next row; a terminal one has no duration", () => {
  const phases = timelineOf([
    { from_status: null, to_status: "draft", actor: "a", reason: "submitted", at: t(0) },
    { from_status: "draft", to_status: "proposed", actor: "a", reason: "", at: t(5) },
    { from_status: "proposed", to_status: "approved", actor: "b", reason: "ok", at: t(1005) },
    { from_status: "approved", to_status: "executing", actor: "k", reason: "", at: t(1010) },
    { from_status: "executing", to_status: "complete", actor: "k", reason: "", at: t(3010) },
  ], t(99_999));
  assertEquals(phases.map((p) => [p.status, p.duration_ms, p.ongoing]), [
    ["draft", 5, false],
    ["proposed", 1000, false],
    ["approved", 5, false],
    ["executing", 2000, false],
    ["complete", null, false],
  ]);
  assertEquals(phases[1]?.left_at, t(1005).toISOString());
  assertEquals(phases[4]?.left_at, null);
});

Deno.test("timelineOf: the current, non-terminal status lasts until now", () => {
  const phases = timelineOf([
    { from_status: null, to_status: "draft", actor: "a", reason: "submitted", at: t(0) },
    { from_status: "draft", to_status: "proposed", actor: "a", reason: "", at: t(10) },
  ], t(60_010));
  assertEquals(phases.at(-1), {
    status: "proposed",
    entered_at: t(10).toISOString(),
    left_at: null,
    duration_ms: 60_000,
    ongoing: true,
    actor: "a",
    reason: "",
  });
});
