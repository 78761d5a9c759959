/**
 * `keel submit <file|->` and `keel watch <id>`.
 *
 * @module
 */
import { submitBatch } from "./batch.ts";
import { parse as parseYaml } from "yaml";
import { parseDirective, submitDirective } from "../../directives/mod.ts";
import { createRegistry } from "../../execution/registry.ts";
import { BUILTIN_MODULES } from "../../execution/registry.ts";
import { submitAndStart, type SubmitAndStartResult } from "../../loop/mod.ts";
import { createDirectiveSchema, type DirectiveSchema } from "../../models/mod.ts";
import { directiveWorkflowId } from "../../workflows/directive/api.ts";
import {
  CliError,
  type Context,
  directiveIdArg,
  EXIT,
  parseCommand,
  printJson,
  usage,
} from "./common.ts";
import { follow, loadDirective } from "./follow.ts";

/** The largest document accepted (a directive's payload is at most 64 KiB). */
export const MAX_DOCUMENT_BYTES = 1024 * 1024;

/** The contract over the built-in execution modules. */
export function cliSchema(): DirectiveSchema {
  return createDirectiveSchema({ moduleTypes: createRegistry(BUILTIN_MODULES).types() });
}

/** Decodes strictly: invalid UTF-8 is refused, not silently replaced with U+FFFD. */
function decodeUtf8(bytes: Uint8Array, where: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    throw new CliError(EXIT.invalid, "invalid_directive", `${where} is not valid UTF-8`, {}, {
      cause: error,
    });
  }
}

/** Reads a file or stdin (`-`), refusing more than `limit` bytes (1 MiB by default). */
export async function readSource(source: string, limit = MAX_DOCUMENT_BYTES): Promise<string> {
  const mib = `${limit / (1024 * 1024)} MiB`;
  if (source === "-") {
    const bytes = new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer());
    if (bytes.length > limit) {
      throw new CliError(EXIT.invalid, "invalid_directive", `stdin holds more than ${mib}`);
    }
    return decodeUtf8(bytes, "stdin");
  }
  try {
    const info = await Deno.stat(source);
    if (!info.isFile) throw usage("submit", `<file> "${source}" is not a file`);
    if (info.size > limit) {
      throw new CliError(EXIT.invalid, "invalid_directive", `"${source}" is larger than ${mib}`);
    }
    return decodeUtf8(await Deno.readFile(source), `"${source}"`);
  } catch (error) {
    if (error instanceof CliError) throw error;
    if (error instanceof Deno.errors.NotCapable) {
      throw new CliError(
        EXIT.usage,
        "permission_denied",
        `cannot read "${source}": the keel CLI may only read files inside the project ` +
          `directory (permission set "cli"); pipe other files in: keel submit - < ${source}`,
      );
    }
    if (error instanceof Deno.errors.NotFound) {
      throw usage("submit", `<file> "${source}" does not exist`);
    }
    throw usage("submit", `cannot read <file> "${source}": ${(error as Error).message}`);
  }
}

/** Parses JSON (for `.json` files) or YAML (a superset of JSON) text. */
export function parseDocument(text: string, source: string): unknown {
  try {
    return source.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    const kind = source.endsWith(".json") ? "JSON" : "YAML or JSON";
    throw new CliError(
      EXIT.invalid,
      "invalid_directive",
      `${source === "-" ? "stdin" : `"${source}"`} is not valid ${kind}: ${
        (error as Error).message.split("\n")[0]
      }`,
    );
  }
}

/** `keel submit`. */
export async function submitCommand(ctx: Context, args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommand(
    "submit",
    args,
    { detach: { type: "boolean", short: "d" }, batch: { type: "boolean" } },
    { min: 1, max: 1, names: "<file|->" },
  );
  const source = positionals[0]!;
  if (values.batch) return await submitBatch(ctx, source);
  const document = parseDocument(await readSource(source), source);
  const schema = cliSchema();
  parseDirective(schema, document); // every field error, before any connection is made
  const sql = await ctx.db();
  let result: SubmitAndStartResult;
  try {
    const temporal = await ctx.temporal();
    result = await submitAndStart(sql, temporal.target, { document, schema });
  } catch (error) {
    if (!(error instanceof CliError && error.code === EXIT.unreachable)) throw error;
    // Postgres is the truth: keep the directive; the reconciler starts its loop later.
    const stored = await submitDirective(sql, document, { schema });
    result = {
      ...stored,
      workflowId: directiveWorkflowId(stored.directive.id),
      startError: error.message,
    };
  } finally {
    await ctx.closeTemporal();
  }
  const { directive } = result;
  if (ctx.json) {
    printJson(ctx, {
      event: "submitted",
      id: directive.id,
      created: result.created,
      status: directive.status,
      type: directive.type,
      workflow_id: result.workflowId,
      loop_started: result.startError === undefined,
      ...(result.startError === undefined ? {} : { start_error: result.startError }),
    });
  } else {
    ctx.io.out(directive.id);
    ctx.io.err(
      result.created
        ? `submitted ${directive.type} directive ${directive.id} (status ${directive.status})`
        : `already submitted with this idempotency key: directive ${directive.id} (status ${directive.status})`,
    );
    if (result.startError !== undefined) {
      ctx.io.err(
        `warning: its loop was not started (${result.startError}); the directive is stored ` +
          `and the reconciler starts its loop once a worker runs`,
      );
    }
  }
  if (values.detach) return EXIT.ok;
  return await follow(ctx, directive.id);
}

/** `keel watch`. */
export async function watchCommand(ctx: Context, args: readonly string[]): Promise<number> {
  const { positionals } = parseCommand("watch", args, {}, { min: 1, max: 1, names: "<id>" });
  const id = directiveIdArg("watch", positionals[0]);
  await loadDirective(await ctx.db(), id);
  return await follow(ctx, id);
}
