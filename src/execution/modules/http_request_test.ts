/**
 * `http_request` in the real sandbox: a process with only the granted hosts,
 * against loopback servers in this process.
 */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import type { ModuleInput, ModulePermissions } from "../module.ts";
import { createSandbox, type SandboxEnding } from "../sandbox/host.ts";
import {
  httpRequestModule,
  HttpRequestPayloadError,
  parseHttpRequestPayload,
} from "./http_request.ts";

function input(
  payload: Record<string, unknown>,
  overrides: Partial<ModuleInput> = {},
): ModuleInput {
  return {
    runId: "run-http-1",
    directiveId: "directive-http-1",
    directiveType: "http_request",
    attempt: 1,
    payload,
    idempotencyKey: "directive-http-1:attempt:1",
    budget: { amount: "1", currency: "USD" },
    timeboxSeconds: 20,
    deadline: Date.now() + 20_000,
    constraints: [],
    ...overrides,
  };
}

/** A loopback server that records what it saw. */
interface TestServer {
  readonly port: number;
  readonly host: string;
  readonly seen: { method: string; path: string; headers: Headers; body: string }[];
  shutdown(): Promise<void>;
}

function serve(handler: (request: Request) => Response | Promise<Response>): TestServer {
  const seen: TestServer["seen"] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      seen.push({
        method: request.method,
        path: new URL(request.url).pathname,
        headers: request.headers,
        body: await request.text(),
      });
      return handler(request);
    },
  );
  const port = server.addr.port;
  return { port, host: `127.0.0.1:${port}`, seen, shutdown: () => server.shutdown() };
}

/** Runs one call in a fresh sandbox (closed afterwards). */
async function run(
  payload: Record<string, unknown>,
  permissions: ModulePermissions,
  heartbeats: unknown[] = [],
): Promise<SandboxEnding> {
  const sandbox = createSandbox({ prewarm: false });
  try {
    return await sandbox.run(httpRequestModule, input(payload), {
      permissions,
      reservation: "0",
      onAlive: (details) => {
        if (details !== undefined) heartbeats.push(details);
      },
    });
  } finally {
    await sandbox.close();
    // Let the sandbox's post-run timer fire before the sanitizers look.
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function resultOf(ending: SandboxEnding) {
  assert(ending.kind === "result", `expected a result, got ${JSON.stringify(ending)}`);
  return ending.result;
}

function errorOf(ending: SandboxEnding) {
  assert(ending.kind === "error", `expected an error, got ${JSON.stringify(ending)}`);
  return ending;
}

Deno.test("a granted host: GET succeeds, the body is the artifact, the key is sent", async () => {
  const server = serve(() =>
    new Response("hello from loopback", { headers: { "content-type": "text/plain" } })
  );
  try {
    const heartbeats: unknown[] = [];
    const result = resultOf(
      await run({ url: `http://${server.host}/hello` }, { net: [server.host] }, heartbeats),
    );
    assertEquals(heartbeats, [{ status: 200, url: `http://${server.host}/hello` }]);
    assertEquals(result.status, "SUCCESS");
    assertEquals(result.result, {
      status: 200,
      url: `http://${server.host}/hello`,
      bytes: 19,
    });
    assertEquals(result.budgetConsumed, "0");
    assertEquals(result.artifacts.length, 1);
    const [artifact] = result.artifacts;
    assertEquals([artifact?.kind, artifact?.contentType], ["http_response", "text/plain"]);
    assertEquals(new TextDecoder().decode(artifact?.body), "hello from loopback");
    assertEquals(server.seen.length, 1);
    assertEquals(server.seen[0]?.method, "GET");
    assertEquals(server.seen[0]?.headers.get("idempotency-key"), "directive-http-1:attempt:1");
  } finally {
    await server.shutdown();
  }
});

Deno.test("POST sends the body and headers; a non-2xx answer is FAILURE naming the status", async () => {
  const server = serve(() => new Response("nope", { status: 418 }));
  try {
    const result = resultOf(
      await run(
        {
          url: `http://${server.host}/brew`,
          method: "POST",
          headers: { "content-type": "application/json", "x-trace": "t1" },
          body: '{"tea":true}',
        },
        { net: [server.host] },
      ),
    );
    assertEquals(result.status, "FAILURE");
    assertStringIncludes(result.message, "HTTP 418");
    assertEquals(result.artifacts, []);
    assertEquals(server.seen[0]?.body, '{"tea":true}');
    assertEquals(server.seen[0]?.headers.get("x-trace"), "t1");
  } finally {
    await server.shutdown();
  }
});

Deno.test("a host not granted fails with NotCapable, naming host:port", async () => {
  const server = serve(() => new Response("should not be reached"));
  try {
    const ending = errorOf(
      await run({ url: `http://localhost:${server.port}/` }, { net: [server.host] }),
    );
    assertEquals(ending.name, "HttpRequestError");
    assertStringIncludes(ending.message, `could not reach "localhost:${server.port}"`);
    assertStringIncludes(ending.message, "NotCapable");
    assertEquals(server.seen.length, 0);
  } finally {
    await server.shutdown();
  }
});

Deno.test("redirects within the grant are followed; the final URL is reported", async () => {
  const server = serve((request) =>
    new URL(request.url).pathname === "/start"
      ? new Response(null, { status: 302, headers: { location: "/final" } })
      : new Response("arrived")
  );
  try {
    const result = resultOf(
      await run({ url: `http://${server.host}/start` }, { net: [server.host] }),
    );
    assertEquals(result.status, "SUCCESS");
    assertEquals(result.result, { status: 200, url: `http://${server.host}/final`, bytes: 7 });
    assertEquals(server.seen.map((seen) => seen.path), ["/start", "/final"]);
    assertEquals(
      server.seen.map((seen) => seen.headers.get("idempotency-key")),
      ["directive-http-1:attempt:1", "directive-http-1:attempt:1"],
    );
  } finally {
    await server.shutdown();
  }
});

Deno.test("a redirect to a host not granted is refused before any request reaches it", async () => {
  const other = serve(() => new Response("secret"));
  const server = serve(() =>
    new Response(null, { status: 302, headers: { location: `http://${other.host}/secret` } })
  );
  try {
    const ending = errorOf(
      await run({ url: `http://${server.host}/go` }, { net: [server.host] }),
    );
    assertEquals(ending.name, "HttpRequestError");
    assertStringIncludes(ending.message, `refused the redirect to "${other.host}"`);
    assertStringIncludes(ending.message, "outside the allow-list");
    assertEquals(server.seen.length, 1);
    assertEquals(other.seen.length, 0);
  } finally {
    await server.shutdown();
    await other.shutdown();
  }
});

Deno.test("an oversize response is FAILURE naming the cap, read no further than it", async () => {
  const chunk = new Uint8Array(4096).fill(97);
  let sent = 0;
  const server = serve((request) => {
    if (new URL(request.url).pathname === "/declared") {
      return new Response(new Uint8Array(5000).fill(98));
    }
    // An endless body without a length: the module must stop on its own.
    return new Response(
      new ReadableStream<Uint8Array>({
        pull(controller) {
          sent += chunk.byteLength;
          controller.enqueue(chunk);
        },
      }),
    );
  });
  try {
    const endless = resultOf(
      await run(
        { url: `http://${server.host}/endless`, max_response_bytes: 10_000 },
        { net: [server.host] },
      ),
    );
    assertEquals(endless.status, "FAILURE");
    assertStringIncludes(endless.message, "max_response_bytes (10000 bytes)");
    const stopped = Number(/stopped after (\d+) bytes/.exec(endless.message)?.[1]);
    assert(stopped > 10_000 && stopped <= 10_000 + 65_536, endless.message);
    assertEquals(endless.artifacts, []);

    const declared = resultOf(
      await run(
        { url: `http://${server.host}/declared`, max_response_bytes: 1000 },
        { net: [server.host] },
      ),
    );
    assertEquals(declared.status, "FAILURE");
    assertStringIncludes(declared.message, "max_response_bytes (1000 bytes)");
    assertStringIncludes(declared.message, "it declares 5000 bytes");
    assertEquals(declared.artifacts, []);
    // The endless body stopped being pulled once the module hung up.
    const settled = sent;
    await new Promise((resolve) => setTimeout(resolve, 50));
    assertEquals(sent, settled);
  } finally {
    await server.shutdown();
  }
});

Deno.test("a bad payload ends the run with an error naming the field", async () => {
  const ending = errorOf(await run({ url: "ftp://127.0.0.1/file" }, { net: ["127.0.0.1"] }));
  assertEquals(ending.name, "HttpRequestPayloadError");
  assertEquals(
    ending.message,
    `http_request payload: url must use http or https, got "ftp" in "ftp://127.0.0.1/file"`,
  );
});

Deno.test("parseHttpRequestPayload names the bad field and quotes the value", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{}, "http_request payload: url is required: an http or https URL"],
    [{ url: 42 }, "http_request payload: url must be a string, got 42"],
    [{ url: "not a url" }, `http_request payload: url is not a URL: "not a url"`],
    [
      { url: "ftp://example.com/x" },
      `http_request payload: url must use http or https, got "ftp" in "ftp://example.com/x"`,
    ],
    [
      { url: "http://127.0.0.1/", body: "x" },
      "http_request payload: body is not allowed with method GET",
    ],
    [
      { url: "http://127.0.0.1/", method: "HEAD", body: "x" },
      "http_request payload: body is not allowed with method HEAD",
    ],
    [
      { url: "http://127.0.0.1/", method: "POST", body: { a: 1 } },
      `http_request payload: body must be a string, got {"a":1}`,
    ],
    [
      { url: "http://127.0.0.1/", max_response_bytes: 0 },
      "http_request payload: max_response_bytes must be a whole number from 1 to 10485760, got 0",
    ],
    [
      { url: "http://127.0.0.1/", max_response_bytes: 1.5 },
      "http_request payload: max_response_bytes must be a whole number from 1 to 10485760, " +
      "got 1.5",
    ],
    [
      { url: "http://127.0.0.1/", max_response_bytes: 10_485_761 },
      "http_request payload: max_response_bytes must be a whole number from 1 to 10485760, " +
      "got 10485761",
    ],
    [
      { url: "http://127.0.0.1/", method: "get" },
      `http_request payload: method must be one of GET, HEAD, POST, PUT, PATCH, DELETE, got "get"`,
    ],
    [
      { url: "http://127.0.0.1/", headers: ["x"] },
      `http_request payload: headers must be an object of header names to strings, got ["x"]`,
    ],
    [
      { url: "http://127.0.0.1/", headers: { "x-n": 1 } },
      "http_request payload: headers.x-n must be a string, got 1",
    ],
    [
      { url: "http://127.0.0.1/", headers: { "bad name": "v" } },
      `http_request payload: headers.bad name is not a valid header: "bad name": "v"`,
    ],
  ];
  for (const [payload, message] of cases) {
    const error = assertThrows(() => parseHttpRequestPayload(payload), HttpRequestPayloadError);
    assertEquals(error.message, message, JSON.stringify(payload));
  }
  const spec = parseHttpRequestPayload({ url: "https://127.0.0.1/x" });
  assertEquals(
    [spec.method, spec.body, spec.headers, spec.maxResponseBytes],
    ["GET", undefined, {}, 1_048_576],
  );
});

Deno.test("retrySafe follows the method; targets give host:port with the default port", () => {
  const url = "http://127.0.0.1/";
  for (const method of [undefined, "GET", "HEAD", "PUT", "DELETE"]) {
    assertEquals(httpRequestModule.retrySafe({ url, method }), true, String(method));
  }
  for (const method of ["POST", "PATCH", "get", 7]) {
    assertEquals(httpRequestModule.retrySafe({ url, method }), false, String(method));
  }
  assertEquals(httpRequestModule.targets({ url: "http://127.0.0.1/x" }), ["127.0.0.1:80"]);
  assertEquals(httpRequestModule.targets({ url: "https://Example.COM/x" }), ["example.com:443"]);
  assertEquals(httpRequestModule.targets({ url: "http://localhost:8080/" }), ["localhost:8080"]);
  assertEquals(httpRequestModule.targets({ url: "http://[::1]:9000/" }), ["[::1]:9000"]);
  assertEquals(httpRequestModule.targets({ url: "ftp://127.0.0.1/" }), []);
  assertEquals(httpRequestModule.targets({ url: "not a url" }), []);
  assertEquals(httpRequestModule.targets({}), []);
  assertEquals(httpRequestModule.worstCase({ url }), "0");
  assertEquals(httpRequestModule.permissions, { net: ["127.0.0.1"] });
});
