import { assertEquals, assertRejects } from "@std/assert";
import { ConfigError } from "./_env.ts";
import { assertPermissions, type Need, permissionFlags, permissionNeeds } from "./permissions.ts";

const s3 = {
  kind: "s3",
  maxBytes: 65_536,
  endpoint: "https://acct.r2.cloudflarestorage.com",
  bucket: "art",
  region: "auto",
  forcePathStyle: false,
  accessKeyId: "id",
  secretAccessKey: "secret",
} as const;

Deno.test("needs follow the configuration: the directory, the store's hosts and each service", () => {
  assertEquals(
    permissionNeeds({
      artifacts: { config: { kind: "fs", dir: "/srv/art", maxBytes: 65_536 }, write: true },
      database: { variable: "DATABASE_URL", url: "postgres://app:pw@db.internal/keel" },
      temporalAddress: "temporal.internal:7233",
      otlpEndpoint: "http://collector:4318",
    }).map((n) => `${n.access} ${n.target} ${n.variable}`),
    [
      "read /srv/art KEEL_ARTIFACT_DIR",
      "write /srv/art KEEL_ARTIFACT_DIR",
      "net db.internal:5432 DATABASE_URL",
      "net temporal.internal:7233 TEMPORAL_ADDRESS",
      "net collector:4318 OTEL_EXPORTER_OTLP_ENDPOINT",
    ],
  );
  assertEquals(
    permissionNeeds({ artifacts: { config: s3, write: false } }).map((n) => n.target),
    ["acct.r2.cloudflarestorage.com:443", "art.acct.r2.cloudflarestorage.com:443"],
  );
});

Deno.test("flags repeat the set's list plus what is not covered; covered kinds get none", () => {
  const needs = permissionNeeds({
    artifacts: {
      config: { kind: "fs", dir: "./.data/artifacts/x", maxBytes: 65_536 },
      write: true,
    },
    temporalAddress: "127.0.0.1:7233",
  });
  assertEquals(
    permissionFlags({ read: ["."], write: ["./.data/artifacts"], net: ["127.0.0.1"] }, needs),
    [],
  );
  const outside = permissionNeeds({
    artifacts: { config: { kind: "fs", dir: "/srv/art", maxBytes: 65_536 }, write: true },
    temporalAddress: "temporal:7233",
  });
  assertEquals(
    permissionFlags({ read: ["."], write: ["./.data/artifacts"], net: ["127.0.0.1"] }, outside),
    [
      "--allow-read=.,/srv/art",
      "--allow-write=./.data/artifacts,/srv/art",
      "--allow-net=127.0.0.1,temporal:7233",
    ],
  );
});

Deno.test("a need the runtime denies is refused, naming the variable, its value and the flag", async () => {
  const needs: Need[] = [
    { access: "read", target: "/srv/art", variable: "KEEL_ARTIFACT_DIR", value: "/srv/art" },
    { access: "write", target: "/srv/art", variable: "KEEL_ARTIFACT_DIR", value: "/srv/art" },
    { access: "net", target: "db:5432", variable: "DATABASE_URL", value: "db:5432" },
  ];
  await assertPermissions(needs, "worker", () => Promise.resolve({ state: "granted" }));
  const error = await assertRejects(
    () =>
      assertPermissions(
        needs,
        "worker",
        (d) => Promise.resolve({ state: d.name === "net" ? "granted" : "prompt" }),
      ),
    ConfigError,
  );
  assertEquals(
    error.message.split("\n")[1],
    `  KEEL_ARTIFACT_DIR="/srv/art" is outside the worker's permission set: run it with ` +
      `--allow-read=/srv/art --allow-write=/srv/art added to the set's lists`,
  );
});
