/**
 * `docker-compose.yml` as a real compose implementation reads it: the file is
 * loaded with compose-go (the loader Docker Compose uses; `tools/compose_check`,
 * ADR 0021) with interpolation, schema validation and consistency checks on,
 * and these tests read the normalized model it prints. No Docker engine runs
 * here; what needs none is checked: pinned images, healthchecks, start-up
 * gating, volumes, database roles, permission sets, ports, env names, and the
 * Dockerfile's layer order, which no compose loader reads.
 *
 * @module
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import {
  type ComposeService,
  copySources,
  envExampleNames,
  grantsAll,
  isPinned,
  loadCompose,
  loadProject,
  parseDockerfile,
  permissionSet,
  REQUIRED_ENV,
  ROOT,
} from "./_compose.ts";

const COMPLETION = "service_completed_successfully";
const HEALTHY = "service_healthy";
const KEEL_SERVICES = ["migrate", "worker", "api"];

function readText(path: string): string {
  return Deno.readTextFileSync(new URL(path, ROOT));
}

const DENO_JSON = JSON.parse(readText("deno.json"));
const INIT_SH = readText("deploy/postgres/init.sh");

/** The value init.sh passes to psql as `-v name=value`. */
function initVariable(name: string): string {
  const match = new RegExp(`-v ${name}=([A-Za-z0-9_]+)`).exec(INIT_SH);
  assert(match?.[1], `deploy/postgres/init.sh passes no -v ${name}=`);
  return match[1];
}

function env(service: ComposeService | undefined, name: string): string | undefined {
  return service?.environment?.[name] ?? undefined;
}

/** The deno command lines a service runs: its command and its healthcheck's. */
function denoCommands(service: ComposeService): string[][] {
  const lines: string[][] = [];
  if (service.command?.[0] === "deno") lines.push([...service.command]);
  const test = service.healthcheck?.test ?? [];
  if (test[0] === "CMD" && test[1] === "deno") lines.push(test.slice(1));
  if (test[0] === "CMD-SHELL" && /\bdeno\b/.test(test[1] ?? "")) {
    lines.push((test[1] ?? "").split(/\s+/));
  }
  return lines;
}

Deno.test("the checkers themselves reject what they should", () => {
  assertEquals(isPinned("postgres"), false);
  assertEquals(isPinned("postgres:latest"), false);
  assertEquals(isPinned("localhost:5000/postgres"), false);
  assertEquals(isPinned("postgres:${TAG}"), false);
  assertEquals(isPinned("localhost:5000/postgres:17.2"), true);
  assertEquals(isPinned(`postgres@sha256:${"a".repeat(64)}`), true);
  assertEquals(grantsAll(["deno", "run", "-A", "x.ts"]), true);
  assertEquals(grantsAll(["deno", "run", "-qA", "x.ts"]), true);
  assertEquals(grantsAll(["deno", "run", "-P=worker", "x.ts"]), false);
  assertEquals(permissionSet(["deno", "run", "--quiet", "-P=serve", "x.ts"]), "serve");
  assertEquals(permissionSet(["deno", "eval", "1"]), undefined);
  assertEquals([...envExampleNames("A=1\n# B_2=\n#C=x\nlower=1\n  # not a var\n")], [
    "A",
    "B_2",
    "C",
  ]);
  assertEquals(copySources('["deno.json", "deno.lock", "./"]'), ["deno.json", "deno.lock"]);
  assertEquals(copySources("--chown=deno:deno src ./src"), ["src"]);
});

Deno.test("compose-go loads the file with every required variable set", async () => {
  const project = await loadProject();
  assertEquals(project.name, "keel");
  assertEquals(Object.keys(project.services).sort(), [
    "api",
    "jaeger",
    "migrate",
    "otel-collector",
    "postgres",
    "temporal",
    "temporal-ui",
    "worker",
  ]);
  assertEquals(Object.keys(project.volumes ?? {}).sort(), ["artifacts", "pgdata"]);
});

Deno.test("the load fails, naming the variable, when a required one is missing or empty", async () => {
  for (const name of Object.keys(REQUIRED_ENV)) {
    const { [name]: _, ...rest } = REQUIRED_ENV;
    for (const env of [rest, { ...rest, [name]: "" }]) {
      const result = await loadCompose(env);
      assert(!result.ok, `docker-compose.yml loads with ${name}=${JSON.stringify(env[name])}`);
      assertStringIncludes(
        result.error,
        `required variable ${name} is missing a value: set ${name}`,
      );
    }
  }
  // Every use of a secret demands it: one `${NAME:-default}` elsewhere would still load.
  const text = readText("docker-compose.yml");
  for (const name of Object.keys(REQUIRED_ENV)) {
    for (const match of text.matchAll(new RegExp(`\\$\\{${name}([^}]*)\\}`, "g"))) {
      assert(
        match[1]?.startsWith(":?"),
        `docker-compose.yml: \${${name}${match[1]}} has a default`,
      );
    }
  }
});

Deno.test("every image is pinned, or built from the repository's Dockerfile", async () => {
  const root = ROOT.pathname.replace(/\/$/, "");
  for (const [name, service] of Object.entries((await loadProject()).services)) {
    if (service.build !== undefined) {
      assertEquals(service.build, { context: root, dockerfile: "Dockerfile" }, `service ${name}`);
      continue;
    }
    assert(service.image, `service ${name}: neither image nor build`);
    assert(isPinned(service.image), `service ${name}: image ${service.image} is not pinned`);
  }
});

Deno.test("every long-running service has a healthcheck; gates wait on health or completion", async () => {
  const { services } = await loadProject();
  const oneShot = new Set<string>();
  for (const service of Object.values(services)) {
    for (const [dep, spec] of Object.entries(service.depends_on ?? {})) {
      if (spec.condition === COMPLETION) oneShot.add(dep);
    }
  }
  assertEquals([...oneShot], ["migrate"]);
  for (const [name, service] of Object.entries(services)) {
    if (oneShot.has(name)) {
      assertEquals(service.restart, "no", `one-shot ${name}: restart`);
      assertEquals(service.healthcheck, undefined, `one-shot ${name}: healthcheck`);
    } else {
      const test = service.healthcheck?.test ?? [];
      assert(service.healthcheck?.disable !== true, `service ${name}: healthcheck disabled`);
      assert(test.length > 1 && test[0] !== "NONE", `service ${name}: no healthcheck command`);
    }
    for (const [dep, spec] of Object.entries(service.depends_on ?? {})) {
      assert([HEALTHY, COMPLETION].includes(spec.condition), `${name} → ${dep}: ${spec.condition}`);
      if (spec.condition === HEALTHY) {
        assert(services[dep]?.healthcheck, `${name} waits for ${dep}, which has no healthcheck`);
      }
    }
  }
  for (const name of ["worker", "api"]) {
    const deps = services[name]?.depends_on ?? {};
    assertEquals(deps.postgres?.condition, HEALTHY, `${name}: postgres gate`);
    assertEquals(deps.temporal?.condition, HEALTHY, `${name}: temporal gate`);
    assertEquals(deps.migrate?.condition, COMPLETION, `${name}: migrate gate`);
  }
  assertEquals(services.temporal?.depends_on?.postgres?.condition, HEALTHY, "temporal gate");
});

Deno.test("the artifacts volume is mounted at the artifact directory of the worker and the API", async () => {
  const { services } = await loadProject();
  // The worker may write only its permission set's artifact path, relative to WORKDIR.
  const workdir = parseDockerfile(readText("Dockerfile")).findLast((i) => i.keyword === "WORKDIR");
  assert(workdir, "Dockerfile: no WORKDIR");
  const writable = (DENO_JSON.permissions.worker.write as string[])
    .map((path) => `${workdir.args}/${path.replace(/^\.\//, "")}`);
  for (const name of ["worker", "api"]) {
    const service = services[name];
    const dir = env(service, "KEEL_ARTIFACT_DIR") ?? "";
    assert(dir.startsWith("/"), `service ${name}: KEEL_ARTIFACT_DIR "${dir}" is not absolute`);
    const mount = service?.volumes?.find((v) => v.target === dir);
    assert(mount, `service ${name}: nothing mounted at KEEL_ARTIFACT_DIR ${dir}`);
    assertEquals([mount.type, mount.source], ["volume", "artifacts"], `service ${name}`);
    assert(writable.includes(dir), `service ${name}: ${dir} is not in permissions.worker.write`);
  }
  // Created in the image, as its user, so the new volume is writable by it.
  assert(/^RUN mkdir -p \.data\/artifacts$/m.test(readText("Dockerfile")), "Dockerfile: no mkdir");
});

Deno.test("only migrate logs in as the superuser; Temporal uses its own role and databases", async () => {
  const { services } = await loadProject();
  const postgres = services.postgres;
  const superuser = env(postgres, "POSTGRES_USER");
  assertEquals(superuser, "postgres");
  for (const [name, service] of Object.entries(services)) {
    for (const [key, value] of Object.entries(service.environment ?? {})) {
      if (!value?.startsWith("postgres://")) continue;
      const user = new URL(value).username;
      if (name === "migrate") {
        assertEquals([key, user], ["MIGRATION_DATABASE_URL", superuser]);
        assertEquals(new URL(value).password, REQUIRED_ENV.POSTGRES_PASSWORD);
      } else {
        assertEquals(user, initVariable("app_role"), `service ${name}: ${key} logs in as ${user}`);
        assertEquals(new URL(value).password, REQUIRED_ENV.KEEL_APP_PASSWORD, `${name}: ${key}`);
      }
    }
  }
  for (const name of KEEL_SERVICES.slice(1)) {
    assert(env(services[name], "DATABASE_URL"), `service ${name}: no DATABASE_URL`);
  }
  // The init script gets the role passwords; temporal logs in with its own.
  for (const name of ["KEEL_APP_PASSWORD", "TEMPORAL_DB_PASSWORD"]) {
    assertEquals(env(postgres, name), REQUIRED_ENV[name], `service postgres: ${name}`);
  }
  const temporal = services.temporal;
  assertEquals(env(temporal, "POSTGRES_USER"), initVariable("temporal_role"));
  assert(env(temporal, "POSTGRES_USER") !== superuser, "temporal connects as the superuser");
  assertEquals(env(temporal, "POSTGRES_PWD"), REQUIRED_ENV.TEMPORAL_DB_PASSWORD);
  assertEquals(env(temporal, "DBNAME"), initVariable("temporal_db"));
  assertEquals(env(temporal, "VISIBILITY_DBNAME"), initVariable("temporal_visibility_db"));
  assertEquals(env(temporal, "SKIP_DB_CREATE"), "true", "temporal has no CREATEDB");
  // init.sh runs from the entrypoint folder and reads init.psql beside it.
  const mounts = (postgres?.volumes ?? []).map((v) => [v.target, v.source, v.read_only]);
  const dir = "/docker-entrypoint-initdb.d";
  for (const file of ["init.sh", "init.psql"]) {
    const source = new URL(`deploy/postgres/${file}`, ROOT).pathname;
    assert(
      mounts.some(([t, s, ro]) => t === `${dir}/${file}` && s === source && ro === true),
      `service postgres: ${source} is not mounted read-only at ${dir}/${file}`,
    );
  }
  assertStringIncludes(INIT_SH, '-f "$(dirname "${BASH_SOURCE[0]}")/init.psql"');
  assert((Deno.statSync(new URL("deploy/postgres/init.sh", ROOT)).mode ?? 0) & 0o111, "init.sh");
});

Deno.test("every deno command and healthcheck runs a named permission set, never -A or eval", async () => {
  const { services } = await loadProject();
  const sets = DENO_JSON.permissions as Record<string, Record<string, unknown>>;
  for (const [name, service] of Object.entries(services)) {
    for (const argv of denoCommands(service)) {
      assert(!argv.includes("eval"), `service ${name}: ${argv.join(" ")} runs deno eval`);
      assert(!grantsAll(argv), `service ${name}: ${argv.join(" ")} grants all permissions`);
      const set = permissionSet(argv);
      assert(set && sets[set], `service ${name}: ${argv.join(" ")} names no deno.json set`);
    }
  }
  const worker = services.worker?.healthcheck?.test ?? [];
  assertEquals(worker.slice(0, 2), ["CMD", "deno"], "the worker's healthcheck runs deno");
  assertEquals(permissionSet(worker), "healthcheck");
  assertEquals(worker.slice(-3), ["src/cli/healthcheck.ts", "--service", "worker"]);
  // The healthcheck's set reads no file and runs nothing.
  const healthcheck = sets.healthcheck ?? {};
  for (const key of ["read", "write", "run", "ffi", "sys", "import"]) {
    assertEquals(healthcheck[key], undefined, `permissions.healthcheck.${key}`);
  }
});

Deno.test("the API service runs deno task serve on 0.0.0.0 inside, published on 127.0.0.1 only", async () => {
  const { services } = await loadProject();
  const api = services.api;
  assert(api, "service api: missing");
  assertEquals(
    [...(api.command ?? [])],
    DENO_JSON.tasks.serve.split(" "),
    "service api: not `deno task serve`",
  );
  assertEquals(env(api, "KEEL_HTTP_HOST"), "0.0.0.0");
  const port = Number(env(api, "KEEL_HTTP_PORT"));
  assertEquals(
    api.ports?.map((p) => [p.host_ip, p.target]),
    [["127.0.0.1", port]],
    "service api: ports",
  );
  assertEquals((api.healthcheck?.test ?? []).slice(-2), ["--service", "api"]);
  for (const [name, service] of Object.entries(services)) {
    for (const published of service.ports ?? []) {
      assertEquals(published.host_ip, "127.0.0.1", `service ${name}: port ${published.target}`);
    }
  }
});

Deno.test("every bind-mounted file exists and the collector reads its mounted config", async () => {
  const { services } = await loadProject();
  for (const [name, service] of Object.entries(services)) {
    for (const mount of service.volumes ?? []) {
      if (mount.type !== "bind") continue;
      assert(Deno.statSync(mount.source).isFile, `service ${name}: ${mount.source} is no file`);
    }
  }
  const target = "/etc/otelcol-contrib/config.yaml";
  const config = services["otel-collector"]?.volumes?.find((v) => v.target === target);
  assertEquals(config?.source, new URL("deploy/otel-collector.yaml", ROOT).pathname);
});

Deno.test("keel services use only env names that .env.example documents", async () => {
  const documented = envExampleNames(readText(".env.example"));
  const { services } = await loadProject();
  for (const name of KEEL_SERVICES) {
    const names = Object.keys(services[name]?.environment ?? {});
    assert(names.length > 0, `service ${name}: sets no environment`);
    for (const variable of names) {
      assert(documented.has(variable), `service ${name}: ${variable} is not in .env.example`);
    }
  }
});
