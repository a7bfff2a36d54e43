import { writeFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import type pg from "pg";
import { loadOrCreateIdentity } from "../adapters/crypto/nodeIdentity.js";
import { signingPool } from "../adapters/crypto/signingPool.js";
import { verificationPool } from "../adapters/crypto/verificationPool.js";
import { commandHandler } from "../adapters/events/commandHandler.js";
import { connectNats } from "../adapters/nats/connection.js";
import { createEventStore } from "../adapters/nats/eventStore.js";
import { NatsServerProcess } from "../adapters/nats/natsServerProcess.js";
import { applyStreams } from "../adapters/nats/streams.js";
import { createPool, ensureDatabase } from "../adapters/postgres/database.js";
import { creditAccountDecider } from "../domain/credits/commands.js";
import { creditEvents } from "../domain/credits/events.js";
import { buildControlPlane } from "../gateways/controlPlane/app.js";
import { projectors } from "../projections/index.js";
import { startLiveProjection, type LiveProjection } from "../projections/live.js";
import { migrate } from "../projections/migrate.js";
import { loadOrCreateAdminToken } from "./adminToken.js";
import type { NodeConfig } from "./config.js";

export const NATS_URL_FILE = "nats.url";

export interface RunningNode {
  readonly publicKey: string;
  readonly natsUrl: string;
  readonly controlPlaneUrl: string;
  readonly adminTokenFile?: string;
  stop(): Promise<void>;
}

type Log = (msg: string) => void;

/**
 * Boots a node: identity, NATS (its own nats-server child unless NATS_URL is given), streams,
 * Postgres schema, live projections, and the control plane. Stops in reverse order.
 */
export async function startNode(config: NodeConfig, log: Log = console.log): Promise<RunningNode> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => log(`shutdown: ${String(err)}`));
  };
  try {
    const identity = await loadOrCreateIdentity(config.dataDir);
    log(`identity ${identity.publicKey} (${identity.created ? "created" : "loaded"} ${identity.file})`);

    let natsUrl = config.natsUrl;
    if (!natsUrl) {
      const server = await NatsServerProcess.start({ storeDir: join(config.dataDir, "nats"), port: config.embeddedNatsPort, serverName: `ec-${identity.publicKey.slice(0, 8)}` });
      cleanups.push(() => server.stop());
      natsUrl = server.url;
      await writeFile(join(config.dataDir, NATS_URL_FILE), natsUrl + "\n");
      cleanups.push(() => rm(join(config.dataDir, NATS_URL_FILE), { force: true }));
      log(`nats-server started on ${natsUrl} (store ${join(config.dataDir, "nats")})`);
    }
    const nc: NatsConnection = await connectNats(natsUrl, `edgecoder-${identity.publicKey.slice(0, 8)}`);
    cleanups.push(() => nc.drain());
    const streams = await applyStreams(nc, { replicas: config.streamReplicas });
    log(`streams: ${streams.map((s) => `${s.name} ${s.action}`).join(", ")}`);

    await ensureDatabase(config.databaseUrl);
    const applied = await migrate(config.databaseUrl);
    log(`postgres ${redact(config.databaseUrl)}: ${applied.length} migration(s) applied`);
    const pool: pg.Pool = createPool(config.databaseUrl);
    cleanups.push(() => pool.end());

    const store = await createEventStore(nc);
    const verifier = verificationPool();
    cleanups.push(() => verifier.close());
    const lives: LiveProjection[] = projectors.map((p) =>
      startLiveProjection(p, { store, pool, verifier, onError: (err) => log(`projection ${p.name}: ${String(err)}`), onRebuild: log }),
    );
    cleanups.push(() => Promise.all(lives.map((l) => l.stop())));

    const sealer = signingPool(identity.privateKeyPem);
    cleanups.push(() => sealer.close());
    const handleCredit = commandHandler({ store, decider: creditAccountDecider, registry: creditEvents, sealer, verifier });
    const admin = await loadOrCreateAdminToken(config.dataDir, config.adminToken);
    const controlPlane = await buildControlPlane({ pool, handleCredit, adminToken: admin.token });
    const address = await controlPlane.listen({ host: config.host, port: config.controlPlanePort });
    cleanups.push(() => controlPlane.close());
    log(`control plane on ${address}${admin.file ? ` (admin token in ${admin.file})` : ""}`);

    return {
      publicKey: identity.publicKey,
      natsUrl,
      controlPlaneUrl: address,
      ...(admin.file ? { adminTokenFile: admin.file } : {}),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = "***";
  return u.toString();
}
