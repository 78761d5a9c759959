import { assertEquals } from "@std/assert";
import { createLogger } from "./log.ts";

Deno.test("logger writes one JSON object per line at or above its level", () => {
  const lines: string[] = [];
  const log = createLogger({
    level: "info",
    service: "test",
    write: (line) => lines.push(line),
    now: () => new Date("2026-01-02T03:04:05.000Z"),
  });
  log.debug("hidden");
  log.info("shown", { directive_id: "d1" });
  log.error("failed", { error: new Error("boom", { cause: new TypeError("inner") }) });
  assertEquals(lines.map((line) => JSON.parse(line)), [
    {
      time: "2026-01-02T03:04:05.000Z",
      level: "info",
      service: "test",
      message: "shown",
      directive_id: "d1",
    },
    {
      time: "2026-01-02T03:04:05.000Z",
      level: "error",
      service: "test",
      message: "failed",
      error: {
        name: "Error",
        message: "boom",
        cause: { name: "TypeError", message: "inner" },
      },
    },
  ]);
});
