import { resolve } from "node:path";
import { z } from "zod";
import { SandboxMode } from "../domain/agents/capabilities.js";
import { INTENT_TTL_MS } from "../domain/economy/intent.js";
import { PRICE_PROPOSAL_INTERVAL_MS } from "../domain/economy/pricing.js";
import { AggregateId } from "../domain/events/envelope.js";
import { REGISTRATION_LIMITS } from "../gateways/coordinator/registrationLimits.js";
import { parseAllowlist } from "../gateways/adminAllowlist.js";
import { LogLevel } from "../gateways/logLevel.js";

/** 0 lets the system pick a free port (tests). */
const Port = z.coerce.number().int().min(0).max(65535);
const HttpUrl = z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" });
const Flag = z.union([z.boolean(), z.enum(["true", "false", "1", "0", "yes", "no"]).transform((v) => v === "true" || v === "1" || v === "yes")]);
const Ms = z.coerce.number().int().min(100).max(24 * 3600_000);

/** Everything a node is configured with; each field comes from a flag, else an env var, else the default. */
export const NodeConfig = z.object({
  dataDir: z.string().min(1).transform((p) => resolve(p)),
  natsUrl: z.string().regex(/^(nats|tls|ws|wss):\/\//, "must be a nats:// URL").optional(),
  embeddedNatsPort: Port,
  /** Unset: an embedded Postgres (PGlite) in the data folder. */
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL").optional(),
  host: z.string().min(1),
  coordinatorPort: Port,
  inferencePort: Port,
  controlPlanePort: Port,
  adminToken: z.string().min(16, "must be at least 16 characters").optional(),
  streamReplicas: z.coerce.number().int().min(1).max(5),
  ollamaHost: HttpUrl,
  model: z.string().trim().min(1).max(200),
  /** Another node's inference service to decompose and escalate with, instead of this node's own. */
  inferenceUrl: HttpUrl.optional(),
  /** What that service requires (the admin token of the node that serves it); this node's own needs none set. */
  inferenceToken: z.string().min(16, "must be at least 16 characters").optional(),
  parentCoordinatorUrl: HttpUrl.optional(),
  parentCoordinatorToken: z.string().min(1).optional(),
  cloudBaseUrl: HttpUrl.optional(),
  cloudApiKey: z.string().min(1).optional(),
  cloudModel: z.string().min(1).optional(),
  sandbox: SandboxMode,
  sandboxRequired: Flag,
  autoApprove: z.enum(["all", "loopback", "none"]),
  /** The least lease: a subtask's is the larger of this and three times its timeout (leaseMsFor). */
  leaseMs: Ms,
  heartbeatMs: Ms,
  maxAttempts: z.coerce.number().int().min(1).max(10),
  worker: Flag,
  /**
   * EC_ENV: "production" refuses what is for development only (the faucet, the development
   * credit grant, the mock Lightning provider).
   */
  environment: z.enum(["development", "production"]),
  /** EC_ADMIN_ALLOWLIST: addresses and CIDR ranges the control plane's operator routes answer (comma-separated); empty: any. */
  adminAllowlist: z.string().max(10_000).refine((v) => {
    try {
      parseAllowlist(v);
      return true;
    } catch {
      return false;
    }
  }, "must be comma-separated addresses or CIDR ranges, such as 127.0.0.1,10.0.0.0/8,::1"),
  /** The account the node's own worker's work pays (EC_WORKER_OWNER; default the node's local account). */
  workerOwner: AggregateId,
  /** Credits granted once to the local account of a development node, so a new node can pay for its first tasks; 0: none. */
  devGrantCredits: z.coerce.number().int().min(0).max(1_000_000_000),
  /** A ledger checkpoint every this many records, and at this interval when the ledger grew. */
  checkpointEvery: z.coerce.number().int().min(1).max(1_000_000),
  checkpointIntervalMs: Ms,
  /** The anchor proxy (port 4311) that sends checkpoint hashes to Bitcoin; no anchoring without it. */
  anchorProxyUrl: HttpUrl.optional(),
  anchorProxyToken: z.string().min(16, "must be at least 16 characters").optional(),
  anchorIntervalMs: Ms,
  /** The device class the worker reports for the power policy; by default it tells from the battery. */
  deviceType: z.enum(["server", "desktop", "laptop"]).optional(),
  /** Registrations the coordinator takes per window from one source address, and from one key. */
  registerPerAddress: z.coerce.number().int().min(1).max(1_000_000),
  registerPerKey: z.coerce.number().int().min(1).max(1_000_000),
  registerWindowMs: Ms,
  /** Open leases all agents of one owner account may hold together. */
  ownerMaxLeases: z.coerce.number().int().min(1).max(1_000_000),
  /** How much the gateways log: "info" writes one line per request, "warn" only what went wrong. */
  logLevel: LogLevel,
  // The economy (src/app/economy); the Lightning provider has its own variables (src/adapters/lightning/config.ts).
  /** How often this node proposes its price. */
  priceIntervalMs: Ms,
  /** How often open payment intents are asked about, settled and expired. */
  intentPollMs: Ms,
  /** How long an invoice is payable, in ms (whole seconds are asked of the provider). */
  intentTtlMs: z.coerce.number().int().min(1_000).max(7 * 24 * 3600_000),
  /** Whether the node votes on each ended issuance epoch by itself. */
  epochVoting: Flag,
  /** The custody policy line whose approved coordinators close issuance epochs. */
  treasuryPolicyId: AggregateId,
});
export type NodeConfig = z.infer<typeof NodeConfig>;

/** EC_LOG_LEVEL as written, in any case; unset or empty: "info". */
export const logLevelFrom = (env: NodeJS.ProcessEnv) => env.EC_LOG_LEVEL?.trim().toLowerCase() || "info";

/** An empty variable (NATS_URL=) counts as unset, as shells and .env files mean it. */
/** A setting (a flag or a variable) is wrong: starting again cannot help. */
export class NodeConfigError extends Error {
  override readonly name = "NodeConfigError";
}

export function nodeConfigFrom(flags: Partial<Record<keyof NodeConfig, unknown>>, env = process.env): NodeConfig {
  const parsed = NodeConfig.safeParse({
    dataDir: flags.dataDir ?? env.EC_DATA_DIR ?? ".data/node",
    natsUrl: flags.natsUrl ?? (env.NATS_URL || undefined),
    embeddedNatsPort: flags.embeddedNatsPort ?? env.EC_EMBEDDED_NATS_PORT ?? 4322,
    databaseUrl: flags.databaseUrl ?? (env.DATABASE_URL || undefined),
    host: flags.host ?? env.EC_HOST ?? "127.0.0.1",
    coordinatorPort: flags.coordinatorPort ?? env.COORDINATOR_PORT ?? 4301,
    inferencePort: flags.inferencePort ?? env.INFERENCE_PORT ?? 4302,
    controlPlanePort: flags.controlPlanePort ?? env.CONTROL_PLANE_PORT ?? 4303,
    adminToken: flags.adminToken ?? (env.ADMIN_API_TOKEN || undefined),
    streamReplicas: flags.streamReplicas ?? env.EC_STREAM_REPLICAS ?? 1,
    ollamaHost: flags.ollamaHost ?? env.OLLAMA_HOST ?? "http://127.0.0.1:11434",
    model: flags.model ?? env.EC_MODEL ?? "qwen2.5-coder:1.5b",
    inferenceUrl: flags.inferenceUrl ?? (env.INFERENCE_URL || undefined),
    inferenceToken: flags.inferenceToken ?? (env.INFERENCE_TOKEN || undefined),
    parentCoordinatorUrl: flags.parentCoordinatorUrl ?? (env.EC_PARENT_COORDINATOR_URL || undefined),
    parentCoordinatorToken: flags.parentCoordinatorToken ?? (env.EC_PARENT_COORDINATOR_TOKEN || undefined),
    cloudBaseUrl: flags.cloudBaseUrl ?? (env.EC_CLOUD_BASE_URL || undefined),
    cloudApiKey: flags.cloudApiKey ?? (env.EC_CLOUD_API_KEY || undefined),
    cloudModel: flags.cloudModel ?? (env.EC_CLOUD_MODEL || undefined),
    sandbox: flags.sandbox ?? env.EC_SANDBOX ?? "bwrap",
    sandboxRequired: flags.sandboxRequired ?? env.SANDBOX_REQUIRED ?? "true",
    autoApprove: flags.autoApprove ?? env.EC_AUTO_APPROVE_AGENTS ?? "loopback",
    leaseMs: flags.leaseMs ?? env.EC_LEASE_MS ?? 120_000,
    heartbeatMs: flags.heartbeatMs ?? env.EC_HEARTBEAT_MS ?? 10_000,
    maxAttempts: flags.maxAttempts ?? env.EC_MAX_ATTEMPTS ?? 3,
    worker: flags.worker ?? env.EC_WORKER ?? "true",
    environment: flags.environment ?? (env.EC_ENV || "development"),
    devGrantCredits: flags.devGrantCredits ?? env.EC_DEV_GRANT_CREDITS ?? 1_000_000,
    workerOwner: flags.workerOwner ?? (env.EC_WORKER_OWNER || "local"),
    adminAllowlist: flags.adminAllowlist ?? env.EC_ADMIN_ALLOWLIST ?? "",
    deviceType: flags.deviceType ?? (env.EC_DEVICE_TYPE || undefined),
    checkpointEvery: flags.checkpointEvery ?? env.EC_CHECKPOINT_EVERY ?? 1_000,
    checkpointIntervalMs: flags.checkpointIntervalMs ?? env.EC_CHECKPOINT_INTERVAL_MS ?? 60_000,
    anchorProxyUrl: flags.anchorProxyUrl ?? (env.EC_ANCHOR_PROXY_URL || undefined),
    anchorProxyToken: flags.anchorProxyToken ?? (env.EC_ANCHOR_PROXY_TOKEN || env.ANCHOR_PROXY_TOKEN || undefined),
    anchorIntervalMs: flags.anchorIntervalMs ?? env.EC_ANCHOR_INTERVAL_MS ?? 2 * 3600_000,
    registerPerAddress: flags.registerPerAddress ?? env.EC_REGISTER_PER_ADDRESS ?? REGISTRATION_LIMITS.perAddress,
    registerPerKey: flags.registerPerKey ?? env.EC_REGISTER_PER_KEY ?? REGISTRATION_LIMITS.perKey,
    ownerMaxLeases: flags.ownerMaxLeases ?? env.EC_OWNER_MAX_LEASES ?? 256,
    registerWindowMs: flags.registerWindowMs ?? env.EC_REGISTER_WINDOW_MS ?? REGISTRATION_LIMITS.windowMs,
    logLevel: flags.logLevel ?? logLevelFrom(env),
    priceIntervalMs: flags.priceIntervalMs ?? env.EC_PRICE_INTERVAL_MS ?? PRICE_PROPOSAL_INTERVAL_MS,
    intentPollMs: flags.intentPollMs ?? env.EC_INTENT_POLL_MS ?? 5_000,
    intentTtlMs: flags.intentTtlMs ?? env.EC_INTENT_TTL_MS ?? INTENT_TTL_MS,
    epochVoting: flags.epochVoting ?? env.EC_EPOCH_VOTING ?? "true",
    treasuryPolicyId: flags.treasuryPolicyId ?? env.EC_TREASURY_POLICY_ID ?? "treasury",
  });
  if (!parsed.success) throw new NodeConfigError(`bad configuration: ${z.prettifyError(parsed.error)}`);
  if (parsed.data.anchorProxyUrl && !parsed.data.anchorProxyToken) throw new NodeConfigError("bad configuration: EC_ANCHOR_PROXY_URL needs EC_ANCHOR_PROXY_TOKEN");
  if (parsed.data.inferenceUrl && !parsed.data.inferenceToken) throw new NodeConfigError("bad configuration: INFERENCE_URL needs INFERENCE_TOKEN (the admin token of the node serving it)");
  return parsed.data;
}
