#!/usr/bin/env node
import { realpathSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { IdentityFileError, loadOrCreateIdentity } from "../adapters/crypto/nodeIdentity.js";
import { createSandbox, SandboxRefusedError } from "../adapters/executor/sandbox.js";
import { answerMetricsRequests } from "../adapters/metrics/ipcMetrics.js";
import { countedModel, countedSandbox } from "../adapters/metrics/counted.js";
import { workerMetrics } from "../adapters/metrics/registry.js";
import { ollamaProvider } from "../adapters/models/ollamaProvider.js";
import { readPowerTelemetry } from "../adapters/power/telemetry.js";
import { PowerTelemetry } from "../domain/agents/powerPolicy.js";
import { SandboxMode } from "../domain/agents/capabilities.js";
import { AggregateId } from "../domain/events/envelope.js";
import { startWorker } from "./workerLoop.js";

const HttpUrl = z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" });
const Flag = z.enum(["true", "false", "1", "0", "yes", "no", ""]).transform((v) => v === "true" || v === "1" || v === "yes");

/** The worker's settings, from the environment (edgecoder up forks it with these set). */
export const WorkerConfig = z.object({
  coordinatorUrl: HttpUrl,
  ollamaHost: HttpUrl,
  model: z.string().trim().min(1).max(200),
  sandbox: SandboxMode,
  agentMode: z.enum(["worker", "ide"]),
  sandboxRequired: Flag,
  dataDir: z.string().min(1).transform((p) => resolve(p)),
  deviceType: PowerTelemetry.shape.deviceType.optional(),
  /** The credit account the worker's work pays. */
  owner: AggregateId.optional(),
});
export type WorkerConfig = z.infer<typeof WorkerConfig>;

const ENV_NAMES: Record<keyof WorkerConfig, string> = {
  coordinatorUrl: "EC_COORDINATOR_URL",
  ollamaHost: "OLLAMA_HOST",
  model: "EC_WORKER_MODEL",
  sandbox: "EC_SANDBOX",
  agentMode: "EC_AGENT_MODE",
  sandboxRequired: "SANDBOX_REQUIRED",
  dataDir: "EC_WORKER_DATA_DIR",
  deviceType: "EC_DEVICE_TYPE",
  owner: "EC_WORKER_OWNER",
};

export class WorkerConfigError extends Error {
  override readonly name = "WorkerConfigError";
}

export function workerConfigFrom(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const parsed = WorkerConfig.safeParse({
    coordinatorUrl: env.EC_COORDINATOR_URL || "http://127.0.0.1:4301",
    ollamaHost: env.OLLAMA_HOST || "http://127.0.0.1:11434",
    model: env.EC_WORKER_MODEL || "qwen2.5-coder:1.5b",
    sandbox: env.EC_SANDBOX || "bwrap",
    agentMode: env.EC_AGENT_MODE || "worker",
    sandboxRequired: (env.SANDBOX_REQUIRED ?? "").toLowerCase(),
    dataDir: env.EC_WORKER_DATA_DIR || ".data/worker",
    deviceType: env.EC_DEVICE_TYPE || undefined,
    owner: env.EC_WORKER_OWNER || undefined,
  });
  if (parsed.success) return parsed.data;
  // Issues are named by the variable to fix, not by the field inside this file.
  const issues = parsed.error.issues.map((i) => {
    const key = i.path[0] as keyof WorkerConfig;
    return `${ENV_NAMES[key] ?? String(key)}=${JSON.stringify(env[ENV_NAMES[key]] ?? "")}: ${i.message}`;
  });
  throw new WorkerConfigError(`bad worker configuration: ${issues.join("; ")}`);
}

/** Starts the worker; resolves once it is running, with the function that stops it. */
export async function runWorker(cfg: WorkerConfig, log: (line: string) => void): Promise<() => Promise<void>> {
  const metrics = workerMetrics();
  // Forked by a node, the worker's counts reach the node's /metrics over the IPC channel.
  if (process.send) answerMetricsRequests(metrics.registry);
  const sandbox = countedSandbox(await createSandbox({ mode: cfg.sandbox, agentMode: cfg.agentMode, sandboxRequired: cfg.sandboxRequired }), metrics);
  const identity = await loadOrCreateIdentity(cfg.dataDir);
  log(`identity ${identity.publicKey} (${identity.created ? "created" : "loaded"} ${identity.file}); coordinator ${cfg.coordinatorUrl}; model ${cfg.model} at ${cfg.ollamaHost}; sandbox ${sandbox.mode}`);
  if (sandbox.warning) log(`sandbox warning: ${sandbox.warning}`);
  const worker = startWorker({
    coordinatorUrl: cfg.coordinatorUrl,
    owner: cfg.owner,
    signer: identity,
    provider: countedModel(ollamaProvider(cfg.ollamaHost, cfg.model), metrics),
    modelHost: cfg.ollamaHost,
    sandbox,
    mode: cfg.agentMode,
    log,
    telemetry: () => readPowerTelemetry(cfg.deviceType ? { deviceType: cfg.deviceType } : {}),
  });
  return worker.stop;
}

/** How long a stop may wait for a running step (a model call, a program) before the process exits anyway. */
const STOP_GRACE_MS = 15_000;

async function main() {
  const log = (line: string) => console.log(`worker: ${line}`);
  let cfg: WorkerConfig;
  try {
    cfg = workerConfigFrom();
  } catch (err) {
    console.error(`worker: ${(err as Error).message}`);
    process.exit(2);
  }
  let stop: () => Promise<void>;
  try {
    stop = await runWorker(cfg, log);
  } catch (err) {
    console.error(`worker: cannot start: ${(err as Error).message}`);
    // A refused sandbox or an unusable key file is the configuration's fault, like a bad variable.
    process.exit(err instanceof SandboxRefusedError || err instanceof IdentityFileError ? 2 : 1);
  }
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    setTimeout(() => {
      console.error(`worker: still busy after ${STOP_GRACE_MS / 1000} s; exiting anyway`);
      process.exit(0);
    }, STOP_GRACE_MS).unref();
    await stop();
    log("stopped");
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  // Forked by a node: when the node is gone (its IPC channel closes), so is the reason to run.
  process.on("disconnect", () => void shutdown("the node went away"));
}

const isEntry = () => {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
};
if (isEntry()) void main();
