import { parseArgs, type ParseArgsOptionsConfig } from "node:util";

/** Parsed option values, by name. */
export type OptionValues = Record<string, string | boolean | undefined>;

/** Either the parsed options, or the exit code when help was shown or usage was bad. */
export type CommandLine = { readonly values: OptionValues } | { readonly exit: number };

/**
 * Parses a command's options strictly (no positionals, unknown options
 * refused). `-h`/`--help` prints `help` and yields exit 0; a bad option prints
 * the problem and `help` to stderr and yields exit 2.
 */
export function parseCommandLine(
  args: string[],
  spec: { readonly name: string; readonly help: string; readonly options: ParseArgsOptionsConfig },
): CommandLine {
  let values: OptionValues;
  try {
    values = parseArgs({
      args,
      options: { ...spec.options, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: false,
    }).values as OptionValues;
  } catch (error) {
    console.error(`${spec.name}: ${(error as Error).message}\n\n${spec.help}`);
    return { exit: 2 };
  }
  if (values.help) {
    console.log(spec.help);
    return { exit: 0 };
  }
  return { values };
}
