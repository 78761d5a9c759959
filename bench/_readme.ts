/**
 * README.md's benchmark block: the run line, the goals and the end-to-end
 * tables of `bench/results/latest.md`, copied between marker comments by the
 * bench itself (never by hand), and exempt from `deno fmt` so it stays a
 * verbatim copy.
 *
 * @module
 */
import { END_TO_END_HEADING, GOALS_HEADING } from "./_report.ts";

/** The line before the block. */
export const README_START =
  "<!-- bench:start: written by `deno task bench` from bench/results/latest.md; do not edit -->";
/** The line after the block. */
export const README_END = "<!-- bench:end -->";

/** Thrown when README.md or latest.md lacks what the block is made of. */
export class ReadmeBlockError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ReadmeBlockError";
  }
}

function section(lines: readonly string[], heading: string): string[] {
  const start = lines.indexOf(heading);
  if (start < 0) throw new ReadmeBlockError(`latest.md has no section "${heading}"`);
  const next = lines.findIndex((line, i) => i > start && line.startsWith("## "));
  const body = lines.slice(start, next < 0 ? lines.length : next);
  while (body.at(-1) === "") body.pop();
  // README.md shows them under its own "## Performance": one level down.
  return [`#${body[0]}`, ...body.slice(1)];
}

/** The block README.md shows for a `latest.md`, markers included. */
export function readmeBlock(latest: string): string {
  const lines = latest.split("\n");
  const run = lines.find((line) => line.startsWith("Run "));
  if (run === undefined) throw new ReadmeBlockError(`latest.md has no "Run …" line`);
  const heading = lines[0]?.startsWith("# ") ? ` ${lines[0].slice(2)}.` : "";
  return [
    README_START,
    "<!-- deno-fmt-ignore-start -->",
    `From bench/results/latest.md.${heading} ${run}`,
    "",
    ...section(lines, GOALS_HEADING),
    "",
    ...section(lines, END_TO_END_HEADING),
    "<!-- deno-fmt-ignore-end -->",
    README_END,
  ].join("\n");
}

/** The block between the markers of `readme`, markers included. */
export function currentBlock(readme: string): string {
  const start = readme.indexOf(README_START);
  const end = readme.indexOf(README_END);
  if (start < 0 || end < start) {
    throw new ReadmeBlockError(`README.md has no "${README_START}" … "${README_END}" block`);
  }
  return readme.slice(start, end + README_END.length);
}

/** `readme` with its block replaced by the one for `latest`. */
export function withBlock(readme: string, latest: string): string {
  return readme.replace(currentBlock(readme), () => readmeBlock(latest));
}
