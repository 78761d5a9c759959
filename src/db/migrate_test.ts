import { assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { checkMigrationNames } from "./migrate.ts";

Deno.test("checkMigrationNames accepts a well-formed, gap-free list in any order", () => {
  assertEquals(checkMigrationNames([]), []);
  assertEquals(checkMigrationNames(["0001_initial.sql"]), []);
  assertEquals(
    checkMigrationNames(["0003_add_index.sql", "0001_initial.sql", "0002_more_tables_2.sql"]),
    [],
  );
});

Deno.test("checkMigrationNames rejects names that are not NNNN_snake_case.sql", () => {
  const bad = [
    "1_initial.sql", // too few digits
    "00001_initial.sql", // too many digits
    "0001-initial.sql", // hyphen instead of underscore
    "0001_Initial.sql", // upper case
    "0001_initial.SQL", // upper-case extension
    "0001_initial.txt", // wrong extension
    "0001_initial", // no extension
    "0001__initial.sql", // empty snake segment
    "0001_initial_.sql", // trailing underscore
    "0001_.sql", // no name
    "README.md", // stray file
    ".0001_initial.sql.swp", // editor swap file
  ];
  for (const name of bad) {
    const withBad = checkMigrationNames([name]);
    assertEquals(withBad.length, 1, `expected exactly one problem for ${JSON.stringify(name)}`);
    assertStringIncludes(withBad[0]!, `migrations/${name}:`);
    assertStringIncludes(withBad[0]!, "NNNN_snake_case.sql");
  }
});

Deno.test("checkMigrationNames reports a bad name next to good ones, naming only the bad file", () => {
  const problems = checkMigrationNames(["0001_initial.sql", "0002_Second.sql"]);
  assertEquals(problems.length, 1);
  assertStringIncludes(problems[0]!, "migrations/0002_Second.sql");
});

Deno.test("checkMigrationNames reports a gap in the numbering, naming the file after it", () => {
  const problems = checkMigrationNames(["0001_initial.sql", "0003_third.sql"]);
  assertEquals(problems.length, 1);
  assertStringIncludes(problems[0]!, "migrations/0003_third.sql");
  assertMatch(problems[0]!, /expected number 0002 next, found 0003/);
});

Deno.test("checkMigrationNames reports a number used twice, naming both files", () => {
  const problems = checkMigrationNames(["0001_initial.sql", "0002_a.sql", "0002_b.sql"]);
  assertEquals(problems.length, 1);
  assertStringIncludes(problems[0]!, "migrations/0002_a.sql");
  assertStringIncludes(problems[0]!, "migrations/0002_b.sql");
  assertStringIncludes(problems[0]!, "used twice");
});

Deno.test("checkMigrationNames requires numbering to start at 0001", () => {
  const problems = checkMigrationNames(["0002_first.sql", "0003_second.sql"]);
  assertEquals(problems.length, 2, JSON.stringify(problems));
  assertStringIncludes(problems[0]!, "migrations/0002_first.sql");
  assertMatch(problems[0]!, /expected number 0001 next, found 0002/);
  assertStringIncludes(problems[1]!, "migrations/0003_second.sql");

  const zero = checkMigrationNames(["0000_zero.sql"]);
  assertEquals(zero.length, 1);
  assertMatch(zero[0]!, /expected number 0001 next, found 0000/);
});
