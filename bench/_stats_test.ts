import { assertEquals, assertThrows } from "@std/assert";
import { median, percentile, significant, StatsInputError, summarize } from "./_stats.ts";

Deno.test("median takes the middle sample, or the mean of the two middle ones", () => {
  assertEquals(median([3, 1, 2]), 2);
  assertEquals(median([4, 1, 3, 2]), 2.5);
  assertEquals(median([7]), 7);
});

Deno.test("percentile is nearest-rank", () => {
  const samples = Array.from({ length: 20 }, (_, i) => 20 - i); // 20..1, unsorted
  assertEquals(percentile(samples, 95), 19);
  assertEquals(percentile(samples, 50), 10);
  assertEquals(percentile(samples, 100), 20);
  assertEquals(percentile([5], 1), 5);
});

Deno.test("statistics leave their input untouched", () => {
  const samples = [3, 1, 2];
  median(samples);
  percentile(samples, 95);
  summarize(samples);
  assertEquals(samples, [3, 1, 2]);
});

Deno.test("summarize gives median, min, max and count", () => {
  assertEquals(summarize([10, 30, 20, 40]), { median: 25, min: 10, max: 40, n: 4 });
});

Deno.test("no samples, a non-finite sample or a bad percentile is refused by name", () => {
  assertThrows(() => median([]), StatsInputError, "of no samples");
  assertThrows(() => summarize([1, Number.NaN]), StatsInputError, '"NaN" is not finite');
  assertThrows(() => percentile([1], 0), StatsInputError, 'percentile "0"');
  assertThrows(() => percentile([1], 101), StatsInputError, 'percentile "101"');
});

Deno.test("significant rounds to significant digits", () => {
  assertEquals(significant(123456), 123000);
  assertEquals(significant(0.0012345), 0.00123);
  assertEquals(significant(0), 0);
});
