import { BleTransaction } from "../domain/credits/bleSync.js";
import { z } from "zod";
import { AgentCapabilities } from "../domain/agents/capabilities.js";
import { DeviceType, PowerTelemetry } from "../domain/agents/powerPolicy.js";
import { AgentRecord } from "../domain/agents/record.js";
import { AggregateId } from "../domain/events/envelope.js";
import { Language } from "../domain/tasks/decomposition.js";

/**
 * The coordinator's worker-facing API (port 4301): the wire contract of both sides, which the
 * coordinator gateway (src/gateways/coordinator/agentRoutes.ts) validates requests with and the
 * worker (src/worker/coordinatorClient.ts) validates replies with. It lives here, not in the
 * gateway, because the worker is another process that must not import a gateway's code; it is
 * built from the domain and zod only (the dependency rules hold it to that), and
 * src/schemas/catalog.ts publishes it under schemas/http.
 *
 * Every request is signed by the worker's Ed25519 key (headers x-ec-agent, x-ec-timestamp,
 * x-ec-nonce, x-ec-signature; see src/domain/security/signedRequest.ts); the agent id is that
 * public key.
 */

export { AgentCapabilities, SandboxMode } from "../domain/agents/capabilities.js";

export const RegisterBody = z.object({
  name: z.string().trim().min(1).max(100).optional(),
  /** "ide" agents run code on the developer's own machine; only they may use sandbox "none". */
  mode: z.enum(["worker", "ide"]).default("worker"),
  capabilities: AgentCapabilities,
  /**
   * The machine the agent runs on, fixed from here on: every heartbeat and pull must report the
   * same. Another one later is a new registration, reviewed like any new capability.
   */
  deviceType: DeviceType.default("server"),
  /** The account that owns the agent (see AgentProfile.owner). */
  owner: AggregateId.optional(),
});
export type RegisterBody = z.infer<typeof RegisterBody>;

export const RegisterReply = z.object({
  agentId: z.string(),
  status: z.enum(["approved", "pending", "blacklisted"]),
  heartbeatIntervalMs: z.number().int(),
  /** The agent's record of checked results: how far this coordinator trusts its results unchecked. */
  record: AgentRecord.optional(),
});
export type RegisterReply = z.infer<typeof RegisterReply>;

export const HeartbeatBody = z.object({ power: PowerTelemetry, models: z.array(z.string().min(1).max(200)).max(50).optional() });
export type HeartbeatBody = z.infer<typeof HeartbeatBody>;

export const HeartbeatReply = z.object({
  ok: z.boolean(),
  status: z.enum(["none", "pending", "approved", "blacklisted"]),
  heartbeatIntervalMs: z.number().int(),
  record: AgentRecord.optional(),
});
export type HeartbeatReply = z.infer<typeof HeartbeatReply>;

export const PullBody = z.object({
  power: PowerTelemetry,
  /**
   * How long the pull may wait for work when none is queued (long polling), at most 25,000 ms;
   * 0 or absent: answer no_work at once. The reply comes as soon as work is handed out.
   */
  waitMs: z.number().int().min(0).max(25_000).optional(),
});
export type PullBody = z.infer<typeof PullBody>;

export const AssignedSubtask = z.object({
  subtaskId: AggregateId,
  taskId: AggregateId,
  leaseId: AggregateId,
  leaseExpiresAt: z.string(),
  attempt: z.number().int().min(1),
  input: z.string(),
  language: Language,
  timeoutMs: z.number().int(),
  requestedModel: z.string().optional(),
});
export type AssignedSubtask = z.infer<typeof AssignedSubtask>;

export const PullReply = z.discriminatedUnion("assigned", [
  z.object({ assigned: z.literal(true), subtask: AssignedSubtask }),
  z.object({
    assigned: z.literal(false),
    reason: z.enum(["no_work", "at_capacity", "power_blocked", "power_deferred", "not_approved", "blacklisted", "no_model", "sandbox_required"]),
    message: z.string(),
    deferMs: z.number().int().optional(),
  }),
]);
export type PullReply = z.infer<typeof PullReply>;

const Text = z.string().max(256 * 1024);
export const ResultBody = z.object({
  subtaskId: AggregateId,
  leaseId: AggregateId,
  ok: z.boolean(),
  /** The code that ran (or the last try when none succeeded). */
  code: Text,
  output: Text,
  stderr: Text,
  durationMs: z.number().int().min(0).max(24 * 3600_000),
});
export type ResultBody = z.infer<typeof ResultBody>;

/** events: what the result caused, e.g. ["subtask.completed"], ["subtask.reported"] or ["subtask.failed", "subtask.escalated"]. */
export const ResultReply = z.object({
  accepted: z.boolean(),
  events: z.array(z.string()),
  /** The result is held until this coordinator has run its code and seen the same output. */
  checking: z.boolean().optional(),
});
export type ResultReply = z.infer<typeof ResultReply>;

/** POST /credits/ble-sync: offline BLE credit transactions, in the order the device made them. */
export const BleSyncBody = z.object({ transactions: z.array(BleTransaction).min(1).max(500) });
export const BleSyncReply = z.object({
  /** Transactions applied now. */
  accepted: z.number().int(),
  /** Transactions synced before: counted once, not again. */
  repeats: z.number().int(),
  movedMillicredits: z.number().int(),
});
