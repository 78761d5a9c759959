/**
 * `deno task serve` starts the server with a network allow-list built from
 * the configuration: the configured listen address and the exact services
 * it calls. A process holding those permissions cannot listen anywhere else,
 * and the launched server answers on the configured address.
 */
import { assert, assertEquals } from "@std/assert";
import { permissionFlags, serverNetAllowList } from "../src/server/launch_args.ts";
import { answersHealthz } from "./_api.ts";
import { startLoopHarness } from "./_loop.ts";

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

Deno.test("the server's permissions allow listening on the configured address only", async () => {
  const config = JSON.parse(await Deno.readTextFile("deno.json"));
  const port = freePort();
  const net = serverNetAllowList({
    host: "127.0.0.1",
    port,
    databaseUrl: "postgres://keel_app@127.0.0.1:5432/keel",
    temporalAddress: "127.0.0.1:7233",
  });
  assertEquals(net, [`127.0.0.1:${port}`, "127.0.0.1:5432", "127.0.0.1:7233"]);
  assert(!config.permissions.server.net.includes("0.0.0.0"), "the static set allows 0.0.0.0");
  const other = freePort();
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      ...permissionFlags(config.permissions.server, net),
      "tests/fixtures/listen_probe.ts",
      `127.0.0.1:${port}`,
      `0.0.0.0:${port}`,
      `127.0.0.1:${other}`,
      `localhost:${port}`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(output.code, 0, new TextDecoder().decode(output.stderr));
  assertEquals(JSON.parse(new TextDecoder().decode(output.stdout)), {
    [`127.0.0.1:${port}`]: "allowed",
    [`0.0.0.0:${port}`]: "denied",
    [`127.0.0.1:${other}`]: "denied",
    [`localhost:${port}`]: "denied",
  });
});

Deno.test({
  name: "deno task serve answers on the configured address",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const h = await startLoopHarness({ noWorker: true });
    const port = freePort();
    const child = new Deno.Command("deno", {
      args: ["task", "--quiet", "serve"],
      clearEnv: true,
      env: {
        PATH: Deno.env.get("PATH") ?? "",
        HOME: Deno.env.get("HOME") ?? "",
        DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
        DATABASE_URL: h.db.appUrl,
        TEMPORAL_ADDRESS: h.server.address,
        KEEL_HTTP_HOST: "127.0.0.1",
        KEEL_HTTP_PORT: String(port),
      },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    try {
      assert(await answersHealthz(port), "the launched server never answered /healthz");
      const list = await fetch(`http://127.0.0.1:${port}/api/directives`);
      assertEquals(list.status, 401);
      await list.body?.cancel();
    } finally {
      child.kill("SIGTERM");
      const status = await child.status;
      await child.stdout.cancel();
      await child.stderr.cancel();
      assert(
        status.code === 0 || status.signal !== null || status.code === 143,
        String(status.code),
      );
      await h.stop();
    }
  },
});
