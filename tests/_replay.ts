/**
 * Replays recorded workflow histories against a workflow bundle, in a process
 * of its own (`tests/fixtures/replay_main.ts`): replaying in the test process
 * after many in-process workers once ended in a segfault.
 *
 * @module
 */
import { assertEquals } from "@std/assert";

/** One history's replay result, as `replay_main.ts` prints it. */
export interface ReplayLine {
  /** The workflow the history belongs to. */
  workflowId: string;
  /** Why replay failed, or null. */
  error: { name: string; message: string } | null;
}

/** The `.json` history files directly in `dir`, sorted. */
export async function historyFilesIn(dir: string): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && entry.name.endsWith(".json")) files.push(`${dir}/${entry.name}`);
  }
  return files.sort();
}

/** Replays `files` against the workflows at `workflowsPath`; one line per history. */
export async function replay(workflowsPath: string, files: string[]): Promise<ReplayLine[]> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-env",
      "--allow-ffi",
      "--allow-sys",
      "tests/fixtures/replay_main.ts",
      workflowsPath,
      ...files,
    ],
    stdin: "null",
  }).output();
  assertEquals(output.code, 0, new TextDecoder().decode(output.stderr));
  // The SDK's native core may log its own lines; ours are the JSON ones.
  return new TextDecoder().decode(output.stdout).split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as ReplayLine);
}
