import type { WorkingMemory } from "../execution/module.ts";
import { checkKey, WORKING_MEMORY_MAX_BYTES, WorkingMemoryFullError } from "./store.ts";

/**
 * A working memory held in this process, for a module's unit tests: the same
 * key rule and byte limit as the real one, nothing persisted. `entries` shows
 * what the module left.
 */
export function localWorkingMemory(): WorkingMemory & { readonly entries: Map<string, unknown> } {
  const entries = new Map<string, unknown>();
  const encoder = new TextEncoder();
  const sizeOf = (value: unknown) => encoder.encode(JSON.stringify(value)).length;
  return {
    entries,
    get: (key) => Promise.resolve(structuredClone(entries.get(checkKey(key)))),
    async set(key, value) {
      checkKey(key);
      if (value === undefined) throw new TypeError(`Refusing to set "${key}" to undefined`);
      let others = 0;
      for (const [other, held] of entries) if (other !== key) others += sizeOf(held);
      if (others + sizeOf(value) > WORKING_MEMORY_MAX_BYTES) {
        throw new WorkingMemoryFullError(
          `Refusing to set working-memory key "${key}": it would pass the ${WORKING_MEMORY_MAX_BYTES} bytes a directive may hold`,
        );
      }
      await Promise.resolve(entries.set(key, structuredClone(value)));
    },
    delete: (key) => Promise.resolve(void entries.delete(checkKey(key))),
    keys: () => Promise.resolve([...entries.keys()].sort()),
  };
}
