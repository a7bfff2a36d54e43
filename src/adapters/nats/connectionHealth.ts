import type { NatsConnection } from "@nats-io/transport-node";

/**
 * Whether the connection to NATS is up, from the client's own status events: the client
 * reconnects by itself (without end), and while it is away every append and read waits or fails.
 */
export function natsConnectionCheck(nc: NatsConnection): () => string | undefined {
  let away: string | undefined;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect") away = `disconnected from ${String((s as { server?: unknown }).server ?? "the server")}; reconnecting`;
      else if (s.type === "reconnect") away = undefined;
    }
  })().catch(() => undefined);
  return () => (nc.isClosed() ? "the NATS connection is closed" : away);
}
