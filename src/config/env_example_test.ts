import { assert, assertEquals } from "@std/assert";
import { z } from "zod";
import { envSection, envVar } from "./_env.ts";
import { configDocText, driftOf, envExampleText } from "./env_example.ts";

const sections = [{
  section: envSection({
    title: "Demo",
    vars: {
      DEMO_LEVEL: envVar(z.string(), { default: "info", description: "A level." }),
      DEMO_TOKEN: envVar(z.string(), { description: "A token." }),
    },
  }),
}];

Deno.test(".env.example shows a default as NAME=value and no default commented out", () => {
  const text = envExampleText(sections);
  assert(text.includes("# --- Demo ---\n# A level.\nDEMO_LEVEL=info\n# A token.\n# DEMO_TOKEN=\n"));
  assert(configDocText(sections).includes("| `DEMO_LEVEL` | `info` | A level. |"));
});

Deno.test("drift names each variable shown differently, missing or undeclared", () => {
  const generated = envExampleText(sections);
  assertEquals(driftOf(generated, generated, "env"), []);
  const committed = generated.replace("DEMO_LEVEL=info", "DEMO_LEVEL=debug")
    .replace("# A token.\n# DEMO_TOKEN=\n", "# Gone.\nDEMO_GONE=1\n");
  assertEquals(driftOf(committed, generated, "env").map((d) => d.message), [
    `DEMO_LEVEL: shows "DEMO_LEVEL=debug", src/config/ gives "DEMO_LEVEL=info"`,
    "DEMO_TOKEN is declared in src/config/ but missing here",
    "DEMO_GONE is not declared in src/config/",
  ]);
  assertEquals(
    driftOf(generated.replace("A level.", "Another level."), generated, "env")[0]?.message,
    "DEMO_LEVEL: its description differs from the one in src/config/",
  );
});
