/**
 * The worker's launchers agree on its allocator and V8 settings: the
 * `worker` task (which the worker tests spawn, `_worker_process.ts`),
 * `scripts/dev.sh` and the Dockerfile. Static: no process is started.
 */
import { assert, assertEquals } from "@std/assert";
import { workerCommand } from "./_worker_process.ts";

/** What bench/memory.ts measured the worker with (docs/architecture.md, "Worker memory"). */
const V8_FLAGS = "--v8-flags=--max-semi-space-size=1,--optimize-for-size";
const ARENAS = "MALLOC_ARENA_MAX=2";

const root = new URL("../", import.meta.url);

Deno.test("the worker task sets the allocator arenas and the V8 flags", async () => {
  const command = await workerCommand();
  assertEquals(command.env, { MALLOC_ARENA_MAX: "2" });
  assertEquals(command.args, ["run", "--quiet", "-P=worker", V8_FLAGS, "src/worker.ts"]);
});

for (const launcher of ["scripts/dev.sh", "scripts/cluster.sh"]) {
  Deno.test(`${launcher} starts the worker as the task does`, async () => {
    const script = await Deno.readTextFile(new URL(launcher, root));
    const line = script.split("\n").find((l) => /deno run .*src\/worker\.ts/.test(l));
    assert(line, `${launcher}: no line runs src/worker.ts`);
    // The flags `deno task permissions worker` prints for the configuration come on top.
    const words = line.trim().split(/\s+/).filter((w) => w !== '"${keel_permission_args[@]}"');
    const from = words.indexOf(ARENAS);
    assertEquals(words.slice(from, words.indexOf("src/worker.ts") + 1), [
      ARENAS,
      "deno",
      "run",
      "--quiet",
      "-P=worker",
      V8_FLAGS,
      "src/worker.ts",
    ]);
  });
}

Deno.test("the Dockerfile starts the worker as the task does", async () => {
  const lines = (await Deno.readTextFile(new URL("Dockerfile", root))).split("\n");
  assert(lines.includes(`ENV ${ARENAS}`), `Dockerfile: no "ENV ${ARENAS}"`);
  const cmd = lines.findLast((l) => l.startsWith("CMD "));
  assert(cmd, "Dockerfile: no CMD");
  assertEquals(JSON.parse(cmd.slice(4)), ["deno", "run", "-P=worker", V8_FLAGS, "src/worker.ts"]);
});
