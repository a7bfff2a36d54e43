import { connect, type NatsConnection } from "@nats-io/transport-node";

/**
 * The client ignores credentials written into a server URL, so they are taken out of it here:
 * `nats://user:password@host:4222` (or EC_NATS_USER / EC_NATS_PASSWORD) becomes user and pass.
 */
export function natsCredentials(servers: string[], env = process.env): { servers: string[]; user?: string; pass?: string } {
  let user = env.EC_NATS_USER;
  let pass = env.EC_NATS_PASSWORD;
  const bare = servers.map((s) => {
    const url = new URL(s);
    if (url.username) {
      user = decodeURIComponent(url.username);
      pass = decodeURIComponent(url.password);
      url.username = "";
      url.password = "";
    }
    return url.toString().replace(/\/$/, "");
  });
  return { servers: bare, ...(user ? { user } : {}), ...(pass ? { pass } : {}) };
}

/**
 * `noAsyncTraces` stops the client from building an Error with a stack trace for every
 * request it sends; with the default it spends about half its publish time doing that.
 */
export async function connectNats(servers: string | string[], name: string): Promise<NatsConnection> {
  const creds = natsCredentials(Array.isArray(servers) ? servers : servers.split(","));
  return connect({ ...creds, name, noAsyncTraces: true, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
}
