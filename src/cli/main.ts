#!/usr/bin/env node
import { Command, InvalidArgumentError } from "commander";
import { connectNats } from "../adapters/nats/connection.js";
import { applyStreams } from "../adapters/nats/streams.js";
import { loadOrCreateIdentity } from "../adapters/crypto/nodeIdentity.js";
import { nodeConfigFrom } from "../node/config.js";
import { startNode } from "../node/startNode.js";
import { replay, resolveNatsUrl } from "./replay.js";

const port = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError("must be a port number (1-65535)");
  return n;
};

const program = new Command("edgecoder")
  .description("EdgeCoder node: signed events on NATS JetStream, Postgres projections")
  .option("--data-dir <dir>", "node data folder (identity, embedded NATS store) [EC_DATA_DIR, default .data/node]")
  .option("--nats-url <url>", "NATS server to use instead of an embedded one [NATS_URL]")
  .option("--database-url <url>", "Postgres for projections [DATABASE_URL]")
  .showHelpAfterError();

const globals = () => program.opts<{ dataDir?: string; natsUrl?: string; databaseUrl?: string }>();

program
  .command("up")
  .description("start a node: NATS (embedded unless --nats-url), streams, projections, control plane")
  .option("--host <host>", "address the gateways bind to [EC_HOST, default 127.0.0.1]")
  .option("--control-plane-port <port>", "control plane port [CONTROL_PLANE_PORT, default 4303]", port)
  .option("--embedded-nats-port <port>", "port of the embedded nats-server [EC_EMBEDDED_NATS_PORT, default 4322]", port)
  .action(async (opts: { host?: string; controlPlanePort?: number; embeddedNatsPort?: number }) => {
    const node = await startNode(nodeConfigFrom({ ...globals(), ...opts }));
    console.log(`node ${node.publicKey} is up; Ctrl-C stops it`);
    let stopping = false;
    const shutdown = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      console.log(`${signal}: stopping`);
      await node.stop();
      process.exit(0);
    };
    process.on("SIGINT", () => void shutdown("SIGINT"));
    process.on("SIGTERM", () => void shutdown("SIGTERM"));
  });

program
  .command("replay")
  .description("rebuild projections from sequence 1 of their streams")
  .option("--projection <name>", "only this projection (default: all)")
  .option("--no-progress", "no progress bar")
  .option("--stats", "print one JSON line per projection: counts, duration and the process's peak RSS")
  .action(async (opts: { projection?: string; progress: boolean; stats?: boolean }) => {
    const cfg = nodeConfigFrom(globals());
    const results = await replay({ ...opts, natsUrl: cfg.natsUrl, databaseUrl: cfg.databaseUrl, dataDir: cfg.dataDir });
    for (const r of results) {
      if (opts.stats) {
        console.log(JSON.stringify({ ...r, peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) }));
      } else {
        console.log(`${r.projection}: rebuilt from ${r.commits} commits (${r.events} events, ${r.quarantined} quarantined) in ${r.ms} ms`);
      }
    }
  });

program
  .command("identity")
  .description("print this node's public key (creating the identity on first use)")
  .action(async () => {
    const id = await loadOrCreateIdentity(nodeConfigFrom(globals()).dataDir);
    console.log(`${id.publicKey}  ${id.file}`);
  });

program
  .command("streams")
  .description("apply the stream declarations of deploy/nats to a NATS server")
  .option("--replicas <n>", "replicas per stream", (v) => Number(v))
  .action(async (opts: { replicas?: number }) => {
    const cfg = nodeConfigFrom({ ...globals(), ...(opts.replicas ? { streamReplicas: opts.replicas } : {}) });
    const nc = await connectNats(await resolveNatsUrl(cfg.natsUrl, cfg.dataDir), "edgecoder-streams");
    try {
      for (const o of await applyStreams(nc, { replicas: cfg.streamReplicas })) console.log(`${o.name}: ${o.action}`);
    } finally {
      await nc.close();
    }
  });

program.parseAsync().catch((err: unknown) => {
  console.error(`edgecoder: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
