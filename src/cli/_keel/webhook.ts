/**
 * `keel webhook`: add, list and remove webhook subscriptions, and show a
 * directive's deliveries. A subscription's secret is printed once, when it
 * is added.
 *
 * @module
 */
import {
  addSubscription,
  deliveriesOf,
  disableSubscription,
  formatDeliveryLog,
  listSubscriptions,
} from "../../notifications/mod.ts";
import { loadDirective } from "../../directives/queries.ts";
import {
  CliError,
  type Context,
  directiveIdArg,
  EXIT,
  parseCommand,
  printJson,
  usage,
} from "./common.ts";

const SUBCOMMANDS = "add, list, remove, deliveries";

/** `keel webhook add|list|remove|deliveries`. */
export async function webhookCommand(ctx: Context, args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommand("webhook", args, {
    name: { type: "string" },
    url: { type: "string" },
    events: { type: "string" },
    format: { type: "string" },
  }, { min: 1, max: 2, names: `<${SUBCOMMANDS.replaceAll(", ", "|")}> [name|id]` });
  const [sub, arg] = positionals;
  // A wrong subcommand is a usage error whether or not the database answers.
  if (!SUBCOMMANDS.split(", ").includes(sub ?? "")) {
    throw usage("webhook", `unknown subcommand "${sub}"; subcommands: ${SUBCOMMANDS}`);
  }
  const sql = await ctx.db();
  if (sub === "add") {
    const events = typeof values.events === "string"
      ? values.events.split(",").map((e) => e.trim()).filter((e) => e !== "")
      : undefined;
    const added = await addSubscription(sql, {
      name: values.name,
      url: values.url,
      events,
      ...(values.format === undefined ? {} : { format: values.format }),
    }, ctx.actor());
    if (ctx.json) {
      printJson(ctx, added);
      return EXIT.ok;
    }
    ctx.io.out(`webhook "${added.name}" → ${added.url} for ${added.events.join(", ")}`);
    ctx.io.out(`signing secret (shown once; give it to the receiver): ${added.secret}`);
    return EXIT.ok;
  }
  if (sub === "list") {
    const rows = await listSubscriptions(sql);
    if (ctx.json) {
      printJson(ctx, rows);
      return EXIT.ok;
    }
    if (rows.length === 0) ctx.io.out("no webhook subscriptions");
    for (const row of rows) {
      const state = row.disabled_at === null ? "active" : "removed";
      ctx.io.out(`${row.name}  ${state}  ${row.format}  ${row.url}  ${row.events.join(",")}`);
    }
    return EXIT.ok;
  }
  if (sub === "remove") {
    if (arg === undefined) throw usage("webhook", "remove needs the subscription's name");
    if (!await disableSubscription(sql, arg)) {
      throw new CliError(EXIT.notFound, "not_found", `no active webhook subscription "${arg}"`);
    }
    if (ctx.json) printJson(ctx, { name: arg, removed: true });
    else ctx.io.out(`webhook "${arg}" removed; its delivery log is kept`);
    return EXIT.ok;
  }
  // deliveries
  const id = directiveIdArg("webhook", arg);
  await loadDirective(sql, id);
  const rows = await deliveriesOf(sql, id);
  if (ctx.json) {
    printJson(ctx, rows);
    return EXIT.ok;
  }
  for (const line of formatDeliveryLog(rows)) ctx.io.out(line);
  return EXIT.ok;
}
