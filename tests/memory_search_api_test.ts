/**
 * `GET /api/memory/search`: directives found by their objective's text, with
 * no embeddings provider (the exact text search); LIKE's wildcards match
 * themselves; bad input names the field.
 */
import { assertEquals } from "@std/assert";
import { get, post, problemOf, testToken, withApi } from "./_api.ts";
import { echoDocument } from "./_directives.ts";

Deno.test("memory search: exact text over objectives, newest first, bounded; bad input names the field", async () => {
  const reader = await testToken("reader", ["read"]);
  const agent = await testToken("agent", ["submit"]);
  await withApi({ tokens: [reader.entry, agent.entry] }, async (base) => {
    for (const objective of ["Rotate the 50% keys", "Rotate the staging keys", "Unrelated"]) {
      const created = await post(
        `${base}/api/directives`,
        echoDocument({ objective }),
        agent.token,
      );
      assertEquals(created.status, 201);
    }
    const search = async (query: string) => {
      const answer = await get(`${base}/api/memory/search?${query}`, reader.token);
      assertEquals(answer.status, 200);
      const body = await answer.json();
      return (body.hits as { objective: string }[]).map((h) => h.objective);
    };
    assertEquals(await search("q=rotate"), ["Rotate the staging keys", "Rotate the 50% keys"]);
    assertEquals(await search("q=rotate&limit=1"), ["Rotate the staging keys"]);
    assertEquals(await search(`q=${encodeURIComponent("50%")}`), ["Rotate the 50% keys"]);
    assertEquals(await search(`q=${encodeURIComponent("_")}`), []);
    for (
      const [query, field] of [["q=", "q"], ["q=a&limit=1000", "limit"], ["", "q"], [
        "q=a&x=1",
        "(query)",
      ]]
    ) {
      const body = await problemOf(
        await get(`${base}/api/memory/search?${query}`, reader.token),
        400,
      );
      const paths = (body.errors as { path: string }[]).map((e) => e.path);
      assertEquals(paths.length > 0, true, JSON.stringify(body));
      if (field !== "(query)") assertEquals(paths[0], field);
    }
  });
});
