import { connect, type NatsConnection } from "@nats-io/transport-node";

/**
 * `noAsyncTraces` stops the client from building an Error with a stack trace for every
 * request it sends; with the default it spends about half its publish time doing that.
 */
export async function connectNats(servers: string | string[], name: string): Promise<NatsConnection> {
  return connect({ servers, name, noAsyncTraces: true, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
}
