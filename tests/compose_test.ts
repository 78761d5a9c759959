/**
 * Static checks of `docker-compose.yml`, `Dockerfile` and the collector config.
 * No Docker engine runs here, so these guard what can be checked without one:
 * pinned images, healthchecks, start-up gating, env names and layer order.
 *
 * @module
 */
import { assert, assertEquals } from "@std/assert";
import { parse } from "yaml";
import { ENV_VARS } from "../src/config/mod.ts";

const ROOT = new URL("../", import.meta.url);
const COMPLETION = "service_completed_successfully";
const CONDITIONS = new Set(["service_healthy", COMPLETION]);

type Mapping = Record<string, unknown>;

function isRecord(value: unknown): value is Mapping {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function readText(path: string): string {
  return Deno.readTextFileSync(new URL(path, ROOT));
}

function exists(path: string): boolean {
  try {
    Deno.statSync(new URL(path, ROOT));
    return true;
  } catch {
    return false;
  }
}

function loadServices(): Record<string, Mapping> {
  const compose: unknown = parse(readText("docker-compose.yml"));
  assert(isRecord(compose) && isRecord(compose.services), "docker-compose.yml: no services map");
  const services: Record<string, Mapping> = {};
  for (const [name, service] of Object.entries(compose.services)) {
    assert(isRecord(service), `service ${name}: not a map`);
    services[name] = service;
  }
  return services;
}

/** True when `image` names an exact tag or digest, not `latest` and not interpolated. */
function isPinned(image: string): boolean {
  if (image.includes("$")) return false;
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const lastPart = image.slice(image.lastIndexOf("/") + 1);
  const colon = lastPart.lastIndexOf(":");
  if (colon < 0) return false;
  const tag = lastPart.slice(colon + 1);
  return tag !== "" && tag !== "latest";
}

/** True when a compose `build` entry builds the repository's own Dockerfile. */
function buildsDockerfile(build: unknown): boolean {
  if (build === "." || build === "./") return true;
  if (!isRecord(build)) return false;
  const context = build.context ?? ".";
  const dockerfile = build.dockerfile ?? "Dockerfile";
  return (context === "." || context === "./") && dockerfile === "Dockerfile";
}

/** Names of a service's `depends_on` entries with their conditions (undefined when absent). */
function dependencies(service: Mapping): Map<string, unknown> {
  const deps = new Map<string, unknown>();
  const raw = service.depends_on;
  if (Array.isArray(raw)) {
    for (const name of raw) deps.set(String(name), undefined);
  } else if (isRecord(raw)) {
    for (const [name, spec] of Object.entries(raw)) {
      deps.set(name, isRecord(spec) ? spec.condition : undefined);
    }
  }
  return deps;
}

/** Environment variable names set on a service, from either the map or the list form. */
function envNames(service: Mapping): string[] {
  const env = service.environment;
  if (Array.isArray(env)) return env.map((entry) => String(entry).split("=")[0] ?? "");
  return isRecord(env) ? Object.keys(env) : [];
}

/** Names in `.env.example`: `NAME=...` lines and commented `# NAME=...` lines. */
function envExampleNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split("\n")) {
    const match = /^\s*(?:#\s*)?([A-Z][A-Z0-9_]*)=/.exec(line);
    if (match?.[1]) names.add(match[1]);
  }
  return names;
}

/** Services that some other service waits on with `service_completed_successfully`. */
function oneShotServices(services: Record<string, Mapping>): Set<string> {
  const oneShot = new Set<string>();
  for (const service of Object.values(services)) {
    for (const [dep, condition] of dependencies(service)) {
      if (condition === COMPLETION) oneShot.add(dep);
    }
  }
  return oneShot;
}

/** One Dockerfile instruction, continuation lines joined; `line` is 1-based. */
interface Instruction {
  readonly line: number;
  readonly keyword: string;
  readonly args: string;
}

function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let body = (lines[i] ?? "").trim();
    if (body === "" || body.startsWith("#")) continue;
    while (body.endsWith("\\") && i + 1 < lines.length) {
      body = `${body.slice(0, -1)} ${(lines[++i] ?? "").trim()}`;
    }
    const [keyword = "", ...rest] = body.split(/\s+/);
    instructions.push({ line: start + 1, keyword: keyword.toUpperCase(), args: rest.join(" ") });
  }
  return instructions;
}

/** The words of a CMD/RUN argument, from the JSON (exec) form or the shell form. */
function words(args: string): string[] {
  if (args.startsWith("[")) {
    const parsed: unknown = JSON.parse(args);
    assert(Array.isArray(parsed), `not a JSON array: ${args}`);
    return parsed.map(String);
  }
  return args.split(/\s+/);
}

/** Copy sources: every word but the last, ignoring `--flag` options. */
function copySources(args: string): string[] {
  const parts = words(args).filter((word) => !word.startsWith("--"));
  return parts.slice(0, -1).map((part) => part.replace(/^\.\//, "").replace(/\/$/, ""));
}

/** True when a deno command line grants everything instead of a named set or explicit flags. */
function grantsAll(argv: readonly string[]): boolean {
  return argv.some((word) => word === "-A" || word === "--allow-all" || /^-[a-zA-Z]*A/.test(word));
}

function grantsExplicitly(argv: readonly string[]): boolean {
  return argv.some((word) => /^(-P=|--permission-set=|--allow-)/.test(word));
}

Deno.test("the checkers themselves reject what they should", () => {
  assertEquals(isPinned("postgres"), false);
  assertEquals(isPinned("postgres:latest"), false);
  assertEquals(isPinned("localhost:5000/postgres"), false);
  assertEquals(isPinned("postgres:${TAG}"), false);
  assertEquals(isPinned("localhost:5000/postgres:17.2"), true);
  assertEquals(isPinned(`postgres@sha256:${"a".repeat(64)}`), true);
  assertEquals(buildsDockerfile({ context: ".", dockerfile: "Other.Dockerfile" }), false);
  assertEquals(grantsAll(["deno", "run", "-A", "x.ts"]), true);
  assertEquals(grantsAll(["deno", "run", "-qA", "x.ts"]), true);
  assertEquals(grantsAll(["deno", "run", "-P=worker", "x.ts"]), false);
  assertEquals([...envExampleNames("A=1\n# B_2=\n#C=x\nlower=1\n  # not a var\n")], [
    "A",
    "B_2",
    "C",
  ]);
  assertEquals(copySources('["deno.json", "deno.lock", "./"]'), ["deno.json", "deno.lock"]);
  assertEquals(copySources("--chown=deno:deno src ./src"), ["src"]);
});

Deno.test("every compose image is pinned to a tag, or built from the Dockerfile", () => {
  for (const [name, service] of Object.entries(loadServices())) {
    if (service.build !== undefined) {
      assert(
        buildsDockerfile(service.build),
        `service ${name}: builds something other than ./Dockerfile`,
      );
      continue;
    }
    assert(typeof service.image === "string", `service ${name}: neither image nor build`);
    assert(isPinned(service.image), `service ${name}: image ${service.image} is not pinned`);
  }
});

Deno.test("every long-running service has a healthcheck and one-shot jobs do not restart", () => {
  const services = loadServices();
  const oneShot = oneShotServices(services);
  for (const [name, service] of Object.entries(services)) {
    if (oneShot.has(name)) {
      assert(
        service.restart === undefined || service.restart === "no",
        `one-shot ${name}: restarts`,
      );
      continue;
    }
    const check = service.healthcheck;
    assert(isRecord(check), `service ${name}: no healthcheck`);
    assert(check.disable !== true, `service ${name}: healthcheck disabled`);
    assert(
      Array.isArray(check.test) ? check.test.length > 1 : typeof check.test === "string",
      `service ${name}: healthcheck has no test command`,
    );
  }
});

Deno.test("every depends_on names a service and waits on health or completion", () => {
  const services = loadServices();
  const oneShot = oneShotServices(services);
  for (const [name, service] of Object.entries(services)) {
    for (const [dep, condition] of dependencies(service)) {
      assert(dep in services, `service ${name}: depends on unknown service ${dep}`);
      assert(
        typeof condition === "string" && CONDITIONS.has(condition),
        `service ${name}: depends_on ${dep} has condition ${String(condition)}`,
      );
      if (condition === "service_healthy") {
        assert(!oneShot.has(dep), `service ${name}: waits for one-shot ${dep} to be healthy`);
      }
    }
  }
});

Deno.test("the required services exist with the expected images and wiring", () => {
  const services = loadServices();
  for (const name of ["postgres", "temporal", "temporal-ui", "otel-collector", "jaeger"]) {
    assert(services[name], `service ${name}: missing`);
  }
  assert(
    String(services.postgres?.image).startsWith("pgvector/pgvector:"),
    `service postgres: image ${services.postgres?.image} is not pgvector`,
  );
  for (const name of ["worker", "migrate"]) {
    const service = services[name];
    assert(service, `service ${name}: missing`);
    assert(buildsDockerfile(service.build), `service ${name}: not built from ./Dockerfile`);
  }
  const workerDeps = dependencies(services.worker ?? {});
  assertEquals(workerDeps.get("postgres"), "service_healthy", "service worker: postgres gate");
  assertEquals(workerDeps.get("temporal"), "service_healthy", "service worker: temporal gate");
  assertEquals(workerDeps.get("migrate"), COMPLETION, "service worker: migrate gate");
});

Deno.test("every bind-mounted file exists and the collector reads its mounted config", () => {
  const services = loadServices();
  for (const [name, service] of Object.entries(services)) {
    for (const volume of Array.isArray(service.volumes) ? service.volumes : []) {
      const source = String(volume).split(":")[0] ?? "";
      if (source.startsWith("./")) {
        assert(exists(source), `service ${name}: mount ${source} missing`);
      }
    }
  }
  const collector = services["otel-collector"] ?? {};
  const mounts = (Array.isArray(collector.volumes) ? collector.volumes : []).map(String);
  const target = "/etc/otelcol-contrib/config.yaml";
  const configMount = mounts.find((mount) => mount.split(":")[1] === target);
  assert(configMount, `service otel-collector: nothing mounted at ${target}`);
  const source = configMount.split(":")[0] ?? "";
  assert(
    Deno.statSync(new URL(source, ROOT)).isFile,
    `service otel-collector: ${source} not a file`,
  );
});

Deno.test("keel services use only env names that .env.example documents", () => {
  assert(exists(".env.example"), ".env.example: missing");
  const documented = envExampleNames(readText(".env.example"));
  const services = loadServices();
  for (const name of ["migrate", "worker"]) {
    const names = envNames(services[name] ?? {});
    assert(names.length > 0, `service ${name}: sets no environment`);
    for (const env of names) {
      assert(documented.has(env), `service ${name}: ${env} is not in .env.example`);
    }
  }
});

Deno.test("compose commands that run deno use a permission set, never -A", () => {
  for (const [name, service] of Object.entries(loadServices())) {
    const command = service.command;
    if (command === undefined) continue;
    const argv = Array.isArray(command) ? command.map(String) : String(command).split(/\s+/);
    if (argv[0] !== "deno") continue;
    assert(!grantsAll(argv), `service ${name}: command grants all permissions`);
    assert(grantsExplicitly(argv), `service ${name}: command names no permissions`);
  }
});

Deno.test("the Dockerfile pins its base, caches deps first, and runs unprivileged", () => {
  const instructions = parseDockerfile(readText("Dockerfile"));
  const from = instructions.find((ins) => ins.keyword === "FROM");
  assert(from, "Dockerfile: no FROM");
  const base = from.args.split(/\s+/)[0] ?? "";
  assert(isPinned(base), `Dockerfile:${from.line}: base image ${base} is not pinned`);

  const cmdIndex = instructions.findLastIndex((ins) => ins.keyword === "CMD");
  const cmd = instructions[cmdIndex];
  assert(cmd, "Dockerfile: no CMD");
  const users = instructions.slice(0, cmdIndex).filter((ins) => ins.keyword === "USER");
  const user = users.at(-1);
  assert(user, `Dockerfile:${cmd.line}: CMD runs with no USER set (root)`);
  const userName = user.args.split(":")[0];
  assert(userName !== "root" && userName !== "0", `Dockerfile:${user.line}: USER is root`);

  const manifestCopy = instructions.findIndex((ins) =>
    ins.keyword === "COPY" &&
    copySources(ins.args).includes("deno.json") && copySources(ins.args).includes("deno.lock")
  );
  const install = instructions.findIndex((ins) =>
    ins.keyword === "RUN" && /\bdeno install\b/.test(ins.args)
  );
  const srcCopy = instructions.findIndex((ins) =>
    ins.keyword === "COPY" && copySources(ins.args).some((s) => s === "src" || s === ".")
  );
  assert(manifestCopy >= 0, "Dockerfile: no COPY of deno.json and deno.lock");
  assert(install >= 0, "Dockerfile: no RUN deno install");
  assert(srcCopy >= 0, "Dockerfile: no COPY of src");
  assert(
    manifestCopy < install,
    `Dockerfile:${instructions[install]?.line}: install before copying the manifests`,
  );
  assert(
    install < srcCopy,
    `Dockerfile:${instructions[srcCopy]?.line}: source copied before deps are installed`,
  );

  // The worker reads its policy file at start: the image must contain its folder.
  const policyFile = ENV_VARS.find((v) => v.name === "KEEL_POLICY_FILE")?.default ?? "";
  const policyDir = policyFile.split("/")[0] ?? "";
  assert(
    instructions.some((ins) => ins.keyword === "COPY" && copySources(ins.args).includes(policyDir)),
    `Dockerfile: no COPY of ${policyDir}/, which holds the default policy ${policyFile}`,
  );

  const argv = words(cmd.args);
  assert(!grantsAll(argv), `Dockerfile:${cmd.line}: CMD grants all permissions`);
  assert(grantsExplicitly(argv), `Dockerfile:${cmd.line}: CMD names no permissions`);
});

Deno.test("the collector config defines every component its pipelines use and exports traces to a compose service", () => {
  const config: unknown = parse(readText("deploy/otel-collector.yaml"));
  assert(isRecord(config) && isRecord(config.service), "otel-collector.yaml: no service section");
  const pipelines = config.service.pipelines;
  assert(isRecord(pipelines), "otel-collector.yaml: no pipelines");
  for (const [pipeline, spec] of Object.entries(pipelines)) {
    assert(isRecord(spec), `otel-collector.yaml: pipeline ${pipeline} is not a map`);
    for (const kind of ["receivers", "processors", "exporters"]) {
      const defined = config[kind];
      const used = spec[kind] ?? [];
      assert(Array.isArray(used), `otel-collector.yaml: ${pipeline}.${kind} is not a list`);
      for (const component of used) {
        assert(
          isRecord(defined) && String(component) in defined,
          `otel-collector.yaml: ${pipeline} uses undefined ${kind.slice(0, -1)} ${component}`,
        );
      }
    }
  }
  const traces = pipelines.traces;
  assert(isRecord(traces), "otel-collector.yaml: no traces pipeline");
  assert(Array.isArray(traces.receivers) && traces.receivers.length > 0, "traces: no receivers");
  assert(Array.isArray(traces.exporters) && traces.exporters.length > 0, "traces: no exporters");
  const services = loadServices();
  const exporters = isRecord(config.exporters) ? config.exporters : {};
  const hosts = traces.exporters.map((name) => {
    const exporter = exporters[String(name)];
    const endpoint = isRecord(exporter) ? String(exporter.endpoint ?? "") : "";
    return endpoint.replace(/^\w+:\/\//, "").split(":")[0] ?? "";
  });
  assert(
    hosts.some((host) => host in services),
    `otel-collector.yaml: traces exporters reach no compose service (${hosts.join(", ")})`,
  );
});
