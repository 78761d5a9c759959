import { assert, assertEquals, assertThrows } from "@std/assert";
import { z } from "zod";
import { ConfigError, envSection, envVar, parseSections } from "./_env.ts";
import { CONFIG_SECTIONS, EXAMPLE_SECTIONS } from "./mod.ts";

const section = envSection({
  title: "Demo",
  vars: {
    DEMO_PORT: envVar(z.coerce.number().int().min(1).max(65535), {
      default: "8080",
      description: "A port.",
    }),
    DEMO_KEY: envVar(z.string().min(8), { secret: true, description: "A key." }),
  },
  check(values, issue) {
    if (values.DEMO_PORT === 9999 && values.DEMO_KEY === undefined) {
      issue("DEMO_KEY", "is required when DEMO_PORT=9999");
    }
  },
});

Deno.test("an unset variable takes its declared default, parsed by its own type", () => {
  assertEquals(parseSections({}, section), { DEMO_PORT: 8080, DEMO_KEY: undefined });
  assertEquals(parseSections({ DEMO_PORT: "81" }, section).DEMO_PORT, 81);
});

Deno.test("a bad value is named and quoted; a secret is named and never shown", () => {
  const error = assertThrows(
    () => parseSections({ DEMO_PORT: "eighty", DEMO_KEY: "short" }, section),
    ConfigError,
  );
  assert(error.message.includes(`DEMO_PORT="eighty"`), error.message);
  assert(error.message.includes("DEMO_KEY=(redacted)"), error.message);
  assert(!error.message.includes("short"), error.message);
  assertThrows(
    () => parseSections({ DEMO_PORT: "9999" }, section),
    ConfigError,
    "DEMO_KEY (unset): is required when DEMO_PORT=9999",
  );
});

Deno.test("every declared default passes its variable's own type, and each name is declared once", () => {
  const seen = new Set<string>();
  for (const { section } of EXAMPLE_SECTIONS) {
    for (const [name, v] of Object.entries(section.vars)) {
      assert(!seen.has(name), `${name} is declared twice`);
      seen.add(name);
      if (v.default === undefined) continue;
      const result = v.type.safeParse(v.default);
      assert(result.success, `${name}'s default "${v.default}" fails its own type`);
    }
  }
  assert(CONFIG_SECTIONS.length >= 10);
});
