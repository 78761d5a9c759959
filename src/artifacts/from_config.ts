import type { ArtifactConfig } from "../config/mod.ts";
import { createFsStore } from "./fs_store.ts";
import type { ArtifactStorage } from "./routing.ts";
import { createS3Store } from "./s3_store.ts";

/** Builds the artifact storage a parsed configuration names. */
export function artifactStorageFrom(config: ArtifactConfig): ArtifactStorage {
  const store = config.kind === "fs" ? createFsStore({ dir: config.dir }) : createS3Store(config);
  return { store, maxBytes: config.maxBytes };
}
