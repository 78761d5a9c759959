import { assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import {
  currentBlock,
  README_END,
  README_START,
  readmeBlock,
  ReadmeBlockError,
  withBlock,
} from "./_readme.ts";
import { END_TO_END_HEADING, GOALS_HEADING } from "./_report.ts";

const LATEST = [
  "# Keel benchmark (--quick)",
  "",
  "Run 2026-01-01T00:00:00.000Z in 200 s with `deno task bench --quick` at commit abc1234.",
  "Machine: somewhere.",
  "",
  GOALS_HEADING,
  "",
  "| goal | target | measured | |",
  "|---|---:|---:|---|",
  "| worker start to first poll | ≤ 2 s | 1.5 s | PASS |",
  "",
  END_TO_END_HEADING,
  "",
  "| concurrency | Keel directives/s |",
  "|---:|---:|",
  "| 1 | 5 |",
  "",
  "## Per directive",
  "",
  "| measure | value |",
  "",
].join("\n");

Deno.test("the README block holds the run line, the goals and the end-to-end tables", () => {
  const block = readmeBlock(LATEST);
  const lines = block.split("\n");
  assertEquals(lines[0], README_START);
  assertEquals(lines.at(-1), README_END);
  assertStringIncludes(block, "at commit abc1234");
  assertStringIncludes(block, `#${GOALS_HEADING}\n`);
  assertStringIncludes(block, "| worker start to first poll | ≤ 2 s | 1.5 s | PASS |");
  assertStringIncludes(block, `#${END_TO_END_HEADING}\n`);
  assertStringIncludes(block, "| 1 | 5 |\n<!-- deno-fmt-ignore-end -->");
  assertEquals(block.includes("Per directive"), false);
});

Deno.test("the block replaces the one between the markers and nothing else", () => {
  const readme = `# Keel\n\nbefore\n\n${README_START}\nold figures\n${README_END}\n\nafter\n`;
  const updated = withBlock(readme, LATEST);
  assertEquals(currentBlock(updated), readmeBlock(LATEST));
  assertEquals(updated.startsWith("# Keel\n\nbefore\n\n"), true);
  assertEquals(updated.endsWith(`${README_END}\n\nafter\n`), true);
  assertThrows(() => withBlock("# no markers\n", LATEST), ReadmeBlockError, "bench:start");
  assertThrows(() => readmeBlock("# empty\n"), ReadmeBlockError, "Run");
});

Deno.test("README.md shows exactly the tables of bench/results/latest.md", async () => {
  const readme = await Deno.readTextFile("README.md");
  const latest = await Deno.readTextFile("bench/results/latest.md");
  assertEquals(
    currentBlock(readme),
    readmeBlock(latest),
    "README.md's benchmark block is not the one `deno task bench` writes from latest.md",
  );
});
