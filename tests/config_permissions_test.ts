/**
 * A configuration a process's permission set cannot serve is refused at
 * start-up, naming the variable (not at the first large artifact), and the
 * flags `deno task permissions <set>` prints make the same configuration start
 * (docs/decisions/0022_config_schema_and_permissions.md). Real processes.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { answersHealthz } from "./_api.ts";
import { startLoopHarness } from "./_loop.ts";
import { killWorker, spawnWorker, workerEnv } from "./_worker_process.ts";

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function baseEnv(): Record<string, string> {
  return { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "" };
}

async function run(args: string[], env: Record<string, string>) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...args],
    env: { ...baseEnv(), ...env },
    clearEnv: true,
    stdin: "null",
  }).output();
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

/** What `deno task permissions <set>` prints for `env`, one flag per entry. */
async function launcherFlags(set: string, env: Record<string, string>): Promise<string[]> {
  const printed = await run(["-P=permissions", "src/cli/permissions.ts", set], env);
  assertEquals(printed.code, 0, printed.stderr);
  return printed.stdout.split("\n").filter((line) => line !== "");
}

async function withOutsideDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "keel_outside_artifacts_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// Nothing is contacted before the check: these addresses need no server.
const UNREACHED = {
  DATABASE_URL: "postgres://keel_app@127.0.0.1:1/keel",
  TEMPORAL_ADDRESS: "127.0.0.1:1",
};

Deno.test("a worker whose KEEL_ARTIFACT_DIR is outside its set exits at once, naming it and the flags", async () => {
  await withOutsideDir(async (dir) => {
    const result = await run(["-P=worker", "src/worker.ts"], {
      ...UNREACHED,
      KEEL_ARTIFACT_DIR: dir,
    });
    assertEquals(result.code, 2, result.stderr);
    assertStringIncludes(result.stderr, `KEEL_ARTIFACT_DIR="${dir}" is outside the worker's`);
    assertStringIncludes(result.stderr, `--allow-read=${dir} --allow-write=${dir}`);
    assertStringIncludes(result.stderr, "deno task permissions worker");
  });
});

Deno.test("an S3 endpoint outside the net list is refused by the worker and prune, naming KEEL_S3_ENDPOINT", async () => {
  const s3 = {
    ...UNREACHED,
    KEEL_ARTIFACT_STORE: "s3",
    KEEL_S3_ENDPOINT: "https://objects.example.test",
    KEEL_S3_BUCKET: "keel-artifacts",
    KEEL_S3_ACCESS_KEY_ID: "id",
    KEEL_S3_SECRET_ACCESS_KEY: "never-shown-secret",
  };
  for (
    const args of [
      ["-P=worker", "src/worker.ts"],
      ["-P=prune", "src/cli/prune.ts", "--older-than", "30d"],
    ]
  ) {
    const result = await run(args, s3);
    assertEquals(result.code, 2, result.stderr);
    assertStringIncludes(
      result.stderr,
      `KEEL_S3_ENDPOINT="https://objects.example.test" is outside the`,
    );
    assertStringIncludes(result.stderr, "--allow-net=objects.example.test:443");
    assert(!result.stderr.includes("never-shown-secret"), result.stderr);
  }
  const flags = await launcherFlags("prune", s3);
  assertEquals(flags, ["--allow-net=127.0.0.1,localhost,postgres,objects.example.test:443"]);
});

Deno.test("the API server run on its static set refuses an outside KEEL_ARTIFACT_DIR (read only)", async () => {
  await withOutsideDir(async (dir) => {
    const result = await run(["-P=server", "src/server/main.ts"], {
      ...UNREACHED,
      KEEL_ARTIFACT_DIR: dir,
    });
    assertEquals(result.code, 2, result.stderr);
    assertStringIncludes(result.stderr, `KEEL_ARTIFACT_DIR="${dir}" is outside the server's`);
    assertStringIncludes(result.stderr, `--allow-read=${dir} added`);
    assert(!result.stderr.includes("--allow-write"), result.stderr);
  });
});

Deno.test({
  name:
    "with the launcher's flags, the worker and `deno task serve` start on an outside KEEL_ARTIFACT_DIR",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const h = await startLoopHarness({ noWorker: true });
    try {
      await withOutsideDir(async (dir) => {
        const env = { ...workerEnv(h), KEEL_ARTIFACT_DIR: dir };
        const flags = await launcherFlags("worker", env);
        assert(flags.some((flag) => flag.startsWith("--allow-write=") && flag.endsWith(dir)));
        const worker = await spawnWorker(env, { denoFlags: flags });
        await killWorker(worker);
        assert(worker.lines.some((line) => line.includes(`fs:${dir}`)), worker.lines.join("\n"));

        const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
        const port = (listener.addr as Deno.NetAddr).port;
        listener.close();
        const server = new Deno.Command("deno", {
          args: ["task", "--quiet", "serve"],
          clearEnv: true,
          env: {
            ...baseEnv(),
            DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
            DATABASE_URL: h.db.appUrl,
            TEMPORAL_ADDRESS: h.server.address,
            KEEL_HTTP_PORT: String(port),
            KEEL_ARTIFACT_DIR: dir,
          },
          stdout: "null",
          stderr: "piped",
        }).spawn();
        const stderr: string[] = [];
        const drained = server.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
          new WritableStream({ write: (chunk) => void stderr.push(chunk) }),
        );
        try {
          assert(
            await answersHealthz(port),
            `the launched server never answered /healthz:\n${stderr.join("")}`,
          );
        } finally {
          server.kill("SIGTERM");
          await server.status;
          await drained;
        }
      });
    } finally {
      await h.stop();
    }
  },
});
