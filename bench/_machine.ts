/** Facts about the machine a benchmark ran on, for the results file. */
import type { Sql } from "../src/db/mod.ts";
import { temporalBinary } from "../tests/_temporal.ts";

/** Machine and software versions. */
export interface MachineInfo {
  readonly cpuModel: string;
  readonly cpus: number;
  readonly memoryGiB: number;
  readonly loadavgAtStart: readonly number[];
  readonly os: string;
  readonly kernel: string;
  readonly deno: string;
  readonly v8: string;
  readonly postgres: string;
  readonly temporalCli: string;
  readonly gitCommit: string;
}

async function output(command: string, args: string[]): Promise<string> {
  try {
    const result = await new Deno.Command(command, { args, stdout: "piped", stderr: "null" })
      .output();
    return new TextDecoder().decode(result.stdout).trim();
  } catch {
    return "";
  }
}

function firstLine(text: string): string {
  return text.split("\n")[0] || "unknown";
}

/**
 * The commit checked out, with "+changes" when tracked files differ from it
 * (the bench's own outputs aside, which a previous run rewrote).
 */
async function gitCommit(): Promise<string> {
  const head = firstLine(await output("git", ["rev-parse", "--short", "HEAD"]));
  const changed = await output("git", [
    "status",
    "--porcelain",
    "--untracked-files=no",
    "--",
    ".",
    ":!bench/results",
    ":!README.md",
  ]);
  return changed === "" ? head : `${head}+changes`;
}

/** Reads CPU, memory, load and versions. */
export async function machineInfo(sql: Sql): Promise<MachineInfo> {
  // Deno asks for --allow-all to read /proc files other than a few, so `cat` does.
  const cpuinfo = await output("cat", ["/proc/cpuinfo"]);
  const [pg] = await sql<{ version: string }[]>`SELECT version()`;
  return {
    cpuModel: cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1] ?? "unknown",
    cpus: navigator.hardwareConcurrency,
    memoryGiB: Math.round(Deno.systemMemoryInfo().total / 2 ** 30 * 10) / 10,
    loadavgAtStart: Deno.loadavg(),
    os: `${Deno.build.os} ${Deno.build.arch}`,
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    postgres: pg?.version.split(" on ")[0] ?? "unknown",
    temporalCli: firstLine(await output(temporalBinary(), ["--version"])),
    gitCommit: await gitCommit(),
  };
}

/**
 * CPU seconds (user + system) a process has used, with those of its children
 * it has waited for (a worker's module processes) unless `own` is set; read
 * through `cat` like the sandbox tests.
 */
export async function cpuSeconds(pid: number, own = false): Promise<number> {
  const out = await new Deno.Command("cat", { args: [`/proc/${pid}/stat`] }).output();
  const stat = new TextDecoder().decode(out.stdout);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
  const self = fields[11]! + fields[12]!;
  return (own ? self : self + fields[13]! + fields[14]!) / 100;
}
