/**
 * The worker (`main` of src/worker.ts) with a hook for bench/memory.ts: on
 * SIGUSR2 it runs a full garbage collection of its main isolate (with
 * `--v8-flags=--expose-gc`) and prints `Deno.memoryUsage()` after it as one
 * line on stderr, `keel-memory {json}`. Run with -P=worker like the worker.
 *
 * @module
 */
import { main } from "../src/worker.ts";

Deno.addSignalListener("SIGUSR2", () => {
  (globalThis as { gc?: () => void }).gc?.();
  console.error(`keel-memory ${JSON.stringify(Deno.memoryUsage())}`);
});
try {
  await main();
} catch (error) {
  console.error(`worker: ${(error as Error).message}`);
  Deno.exit(1);
}
