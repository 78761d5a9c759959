import { assertEquals } from "@std/assert";
import { grantsText } from "./inspect.ts";

Deno.test("keel status prints the granted permission set in one line", () => {
  assertEquals(
    grantsText({ net: ["127.0.0.1:8080"], env: ["TOKEN"] }),
    "net 127.0.0.1:8080; env TOKEN",
  );
  assertEquals(grantsText({}), "nothing (no net, files, env or processes)");
  assertEquals(grantsText(null), "as the module declares (verdict predates grants)");
});
