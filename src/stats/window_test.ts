import { assertEquals, assertThrows } from "@std/assert";
import { byDay, STATS_DAYS_MAX, statsWindow, StatsWindowError } from "./window.ts";

Deno.test("statsWindow: the last N whole UTC days, today included", () => {
  const w = statsWindow(3, new Date("2026-03-01T23:59:59.999Z"));
  assertEquals(w.days, ["2026-02-27", "2026-02-28", "2026-03-01"]);
  assertEquals(w.start.toISOString(), "2026-02-27T00:00:00.000Z");
  assertEquals(w.end.toISOString(), "2026-03-02T00:00:00.000Z");
  assertEquals(statsWindow(STATS_DAYS_MAX, new Date()).days.length, STATS_DAYS_MAX);
});

Deno.test("statsWindow: refuses 0, fractions and more than the cap, naming days", () => {
  for (const days of [0, 1.5, STATS_DAYS_MAX + 1, Number.NaN]) {
    const error = assertThrows(() => statsWindow(days, new Date()), StatsWindowError);
    assertEquals(error.message, `days must be an integer from 1 to 90, not ${days}`);
  }
});

Deno.test("byDay: one series per key, a value per day, rows outside the window dropped", () => {
  const w = statsWindow(3, new Date("2026-03-01T12:00:00Z"));
  const series = byDay(
    w,
    [
      { day: "2026-02-27", key: "a", n: 1 },
      { day: "2026-03-01", key: "a", n: 4 },
      { day: "2026-02-28", key: "b", n: 2 },
      { day: "2026-01-01", key: "c", n: 9 },
    ],
    (r) => r.key,
    (r) => r.n,
    0,
  );
  assertEquals(Object.fromEntries(series), { a: [1, 0, 4], b: [0, 2, 0] });
});
