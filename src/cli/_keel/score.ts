import { LateScoreError, recordLateScore } from "../../evaluation/mod.ts";
import {
  CliError,
  type Context,
  directiveIdArg,
  EXIT,
  parseCommand,
  printJson,
  usage,
} from "./common.ts";

const SCORE_OPTIONS = {
  score: { type: "string" },
  evaluator: { type: "string" },
  dimension: { type: "string", multiple: true },
  note: { type: "string" },
} as const;

function unitValue(text: string, what: string): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value < 0 || value > 1) {
    throw usage("score", `${what} "${text}" is not a number between 0 and 1`);
  }
  return value;
}

/** `keel score`: a late score for a directive, from a person or another system. */
export async function scoreCommand(ctx: Context, args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommand("score", args, SCORE_OPTIONS, {
    min: 1,
    max: 1,
    names: "<id>",
  });
  const directiveId = directiveIdArg("score", positionals[0]);
  if (typeof values.score !== "string") throw usage("score", "--score is required");
  const dimensions: Record<string, number> = {};
  for (const pair of (values.dimension as unknown as string[] | undefined) ?? []) {
    const at = pair.indexOf("=");
    if (at <= 0) throw usage("score", `--dimension "${pair}" is not name=value`);
    dimensions[pair.slice(0, at)] = unitValue(
      pair.slice(at + 1),
      `--dimension ${pair.slice(0, at)}`,
    );
  }
  const evaluator = typeof values.evaluator === "string"
    ? values.evaluator
    : `human:${ctx.actor()}`;
  const sql = await ctx.db();
  let row;
  try {
    row = await recordLateScore(sql, {
      directiveId,
      score: unitValue(values.score, "--score"),
      evaluator,
      dimensions,
      ...(typeof values.note === "string" ? { note: values.note } : {}),
    });
  } catch (error) {
    if (!(error instanceof LateScoreError)) throw error;
    const missing = error.message.includes("no directive");
    throw new CliError(
      missing ? EXIT.notFound : EXIT.usage,
      missing ? "not_found" : "usage",
      error.message,
    );
  }
  if (ctx.json) {
    printJson(ctx, { id: row.id, directive_id: directiveId, score: row.score, evaluator });
  } else ctx.io.out(`scored directive ${directiveId}: ${row.score} by ${evaluator}`);
  return EXIT.ok;
}
