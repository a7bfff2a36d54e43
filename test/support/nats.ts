import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import { connectNats } from "../../src/adapters/nats/connection.js";
import { NatsServerProcess } from "../../src/adapters/nats/natsServerProcess.js";
import { applyStreams } from "../../src/adapters/nats/streams.js";

export interface TestNats {
  readonly server: NatsServerProcess;
  readonly url: string;
  connect(name?: string): Promise<NatsConnection>;
  close(): Promise<void>;
}

/** A private nats-server on a free loopback port with a temporary store, streams applied. */
export async function startTestNats(): Promise<TestNats> {
  const storeDir = await mkdtemp(join(tmpdir(), "ec-nats-"));
  const server = await NatsServerProcess.start({ storeDir });
  const connections: NatsConnection[] = [];
  const connect = async (name = "test") => {
    const nc = await connectNats(server.url, name);
    connections.push(nc);
    return nc;
  };
  await applyStreams(await connect("apply-streams"));
  return {
    server,
    url: server.url,
    connect,
    close: async () => {
      await Promise.all(connections.map((nc) => nc.close().catch(() => undefined)));
      await server.stop();
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}
