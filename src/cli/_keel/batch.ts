import { DirectiveValidationError, parseDirective, submitDirective } from "../../directives/mod.ts";
import { type LoopTarget, submitAndStart } from "../../loop/mod.ts";
import { CliError, type Context, EXIT, printJson } from "./common.ts";
import { cliSchema, readSource } from "./submit.ts";

/** The largest batch read at once. */
export const MAX_BATCH_BYTES = 16 * 1024 * 1024;

type LineResult =
  | { line: number; event: "submitted"; id: string; created: boolean; loop_started: boolean }
  | { line: number; error: { kind: "invalid_directive"; message: string; fields: unknown[] } };

/**
 * `keel submit --batch <file|->`: one JSON document per line (JSON Lines),
 * each validated and stored on its own, so one bad line never stops or
 * half-writes another. Temporal is reached once; when it cannot be, every
 * accepted directive is stored for the reconciler. Exit 0 when every line was
 * accepted, 4 when any was invalid.
 */
export async function submitBatch(ctx: Context, source: string): Promise<number> {
  const text = await readSource(source, MAX_BATCH_BYTES);
  const schema = cliSchema();
  const sql = await ctx.db();
  let target: LoopTarget | undefined;
  try {
    target = (await ctx.temporal()).target;
  } catch (error) {
    if (!(error instanceof CliError && error.code === EXIT.unreachable)) throw error;
    ctx.io.err(`warning: ${error.message}; accepted directives are stored for the reconciler`);
  }
  let invalid = 0;
  let accepted = 0;
  try {
    const lines = text.split("\n");
    for (const [index, raw] of lines.entries()) {
      if (raw.trim() === "") continue;
      const line = index + 1;
      let result: LineResult;
      try {
        let document: unknown;
        try {
          document = JSON.parse(raw);
        } catch (error) {
          throw new DirectiveValidationError([
            { path: "", message: `not valid JSON: ${(error as Error).message}` },
          ]);
        }
        parseDirective(schema, document);
        const stored = target
          ? await submitAndStart(sql, target, { document, schema })
          : { ...await submitDirective(sql, document, { schema }), startError: "unreachable" };
        accepted++;
        result = {
          line,
          event: "submitted",
          id: stored.directive.id,
          created: stored.created,
          loop_started: stored.startError === undefined,
        };
      } catch (error) {
        if (!(error instanceof DirectiveValidationError)) throw error;
        invalid++;
        result = {
          line,
          error: { kind: "invalid_directive", message: error.message, fields: [...error.fields] },
        };
      }
      if (ctx.json) printJson(ctx, result);
      else if ("id" in result) ctx.io.out(`line ${result.line}: ${result.id}`);
      else ctx.io.out(`line ${result.line}: invalid: ${result.error.message}`);
    }
  } finally {
    await ctx.closeTemporal();
  }
  ctx.io.err(`batch: ${accepted} accepted, ${invalid} invalid`);
  return invalid === 0 ? EXIT.ok : EXIT.invalid;
}
