/**
 * The host's side of a module's working-memory calls: each request from the
 * module's process is answered in the order it arrived, by the store the run
 * was given, and a refusal travels back as an error the module can catch.
 *
 * @module
 */
import type { WorkingMemory } from "../module.ts";
import type { MemoryReply, MemoryRequest } from "./_protocol.ts";

/** The name of the error a module gets when its run was given no working memory. */
const UNAVAILABLE = "WorkingMemoryError";

async function perform(memory: WorkingMemory, request: MemoryRequest): Promise<unknown> {
  const key = String(request.key);
  switch (request.op) {
    case "get":
      return await memory.get(key);
    case "set":
      await memory.set(key, request.value);
      return undefined;
    case "delete":
      await memory.delete(key);
      return undefined;
    case "keys":
      return await memory.keys();
    default:
      throw new TypeError(
        `Refusing working-memory operation ${
          JSON.stringify(String(request.op))
        }: not one of get, set, delete, keys`,
      );
  }
}

/**
 * Answers the requests of one run, one at a time and in order, so that a
 * module's `set` followed by `get` sees its own write.
 */
export function memoryAnswerer(
  memory: WorkingMemory | undefined,
  reply: (message: MemoryReply) => void,
): (request: MemoryRequest) => void {
  let queue: Promise<void> = Promise.resolve();
  return (request) => {
    const id = Number(request.id);
    queue = queue.then(async () => {
      try {
        if (!memory) {
          const error = new Error("this run was given no working memory");
          error.name = UNAVAILABLE;
          throw error;
        }
        const value = await perform(memory, request);
        reply({ kind: "memory_reply", id, ok: true, ...(value === undefined ? {} : { value }) });
      } catch (error) {
        reply({
          kind: "memory_reply",
          id,
          ok: false,
          name: error instanceof Error ? error.name : "Error",
          message: error instanceof Error ? error.message : String(error),
        });
      }
    });
  };
}
