import { Kvm, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { z } from "zod";
import { PowerTelemetry } from "../../domain/agents/powerPolicy.js";

export const HEARTBEAT_BUCKET = "ec_agent_heartbeats";

export const Heartbeat = z.object({ at: z.number().int(), power: PowerTelemetry, models: z.array(z.string()).optional() });
export type Heartbeat = z.infer<typeof Heartbeat>;

/**
 * Agents' last heartbeats in JetStream KV, shared by every coordinator. Beats are telemetry, not
 * history, so they are not events; the bucket's TTL drops agents that went quiet long ago, and
 * readers judge liveness by the beat's time against their own interval.
 */
export interface HeartbeatStore {
  beat(agentId: string, beat: Heartbeat): Promise<void>;
  last(agentId: string): Promise<Heartbeat | undefined>;
}

export async function kvHeartbeatStore(nc: NatsConnection, ttlMs = 10 * 60_000): Promise<HeartbeatStore> {
  const kv: KV = await new Kvm(nc).create(HEARTBEAT_BUCKET, { ttl: ttlMs, history: 1 });
  return {
    async beat(agentId, beat) {
      await kv.put(agentId, JSON.stringify(beat));
    },
    async last(agentId) {
      const entry = await kv.get(agentId);
      if (!entry || entry.operation !== "PUT" || entry.length === 0) return undefined;
      const parsed = Heartbeat.safeParse(entry.json());
      return parsed.success ? parsed.data : undefined;
    },
  };
}

/** An agent is alive while its last beat is younger than three intervals (one lost beat is no death). */
export const isAlive = (beat: Heartbeat | undefined, intervalMs: number, now: number) => beat !== undefined && now - beat.at <= 3 * intervalMs;
