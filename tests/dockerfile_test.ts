/**
 * What no compose loader reads: the Dockerfile's layer order and contents, and
 * the collector's own config, checked against the compose model compose-go
 * prints (`tests/_compose.ts`).
 *
 * @module
 */
import { assert } from "@std/assert";
import { parse } from "yaml";
import { ENV_VARS } from "../src/config/mod.ts";
import {
  copySources,
  grantsAll,
  isPinned,
  loadProject,
  parseDockerfile,
  permissionSet,
  ROOT,
  words,
} from "./_compose.ts";

type Mapping = Record<string, unknown>;

function isRecord(value: unknown): value is Mapping {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function readText(path: string): string {
  return Deno.readTextFileSync(new URL(path, ROOT));
}

Deno.test("the Dockerfile pins its base, caches deps first, and runs unprivileged", () => {
  const instructions = parseDockerfile(readText("Dockerfile"));
  const from = instructions.find((ins) => ins.keyword === "FROM");
  assert(from, "Dockerfile: no FROM");
  const base = from.args.split(/\s+/)[0] ?? "";
  assert(isPinned(base), `Dockerfile:${from.line}: base image ${base} is not pinned`);

  const cmdIndex = instructions.findLastIndex((ins) => ins.keyword === "CMD");
  const cmd = instructions[cmdIndex];
  assert(cmd, "Dockerfile: no CMD");
  const user = instructions.slice(0, cmdIndex).filter((ins) => ins.keyword === "USER").at(-1);
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
  assert(permissionSet(argv), `Dockerfile:${cmd.line}: CMD names no permission set`);
});

Deno.test("the image holds every script the compose services run, cached at build time", async () => {
  const instructions = parseDockerfile(readText("Dockerfile"));
  const copied = instructions.filter((ins) => ins.keyword === "COPY")
    .flatMap((ins) => copySources(ins.args));
  const cached = instructions.filter((ins) =>
    ins.keyword === "RUN" && /\bdeno cache\b/.test(ins.args)
  )
    .flatMap((ins) => ins.args.split(/\s+/));
  const { services } = await loadProject();
  for (const [name, service] of Object.entries(services)) {
    if (service.build === undefined) continue;
    const test = service.healthcheck?.test ?? [];
    for (const argv of [service.command ?? [], test[0] === "CMD" ? test.slice(1) : []]) {
      const script = argv.find((word) => word.endsWith(".ts"));
      if (script === undefined) continue;
      assert(
        copied.some((dir) => script.startsWith(`${dir}/`)),
        `service ${name}: ${script} is in no COPYed folder`,
      );
      assert(cached.includes(script), `service ${name}: Dockerfile does not deno cache ${script}`);
    }
  }
  // The API serves examples/directives over MCP and reads it within its permission set.
  assert(copied.includes("examples/directives"), "Dockerfile: no COPY of examples/directives");
});

Deno.test("the collector config defines every component its pipelines use and exports traces to a compose service", async () => {
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
  const { services } = await loadProject();
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
