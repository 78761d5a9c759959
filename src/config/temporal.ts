/**
 * The Temporal section and its parser.
 *
 * @module
 */
import { z } from "zod";
import { envSection, type EnvSnapshot, envVar, parseSections } from "./_env.ts";

/** Where the worker and clients reach Temporal. */
export const TEMPORAL_SECTION = envSection({
  title: "Temporal",
  vars: {
    TEMPORAL_ADDRESS: envVar(z.string().regex(/^[^\s:]+:\d{1,5}$/, "must be host:port"), {
      default: "127.0.0.1:7233",
      description: "Temporal frontend host:port.",
    }),
    TEMPORAL_NAMESPACE: envVar(z.string().min(1).max(255), {
      default: "default",
      description: "Temporal namespace.",
    }),
    TEMPORAL_TASK_QUEUE: envVar(z.string().min(1).max(255), {
      default: "keel",
      description: "Task queue the worker polls.",
    }),
  },
});

/** Where the Temporal worker and clients connect. */
export interface TemporalConfig {
  /** host:port of the Temporal frontend. */
  readonly address: string;
  /** The namespace. */
  readonly namespace: string;
  /** The task queue. */
  readonly taskQueue: string;
}

/** Parses the Temporal configuration. */
export function parseTemporalConfig(env: EnvSnapshot): TemporalConfig {
  const parsed = parseSections(env, TEMPORAL_SECTION);
  return {
    address: parsed.TEMPORAL_ADDRESS,
    namespace: parsed.TEMPORAL_NAMESPACE,
    taskQueue: parsed.TEMPORAL_TASK_QUEUE,
  };
}
