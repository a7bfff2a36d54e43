#!/usr/bin/env node
import { Command, InvalidArgumentError } from "commander";
import type { NodeConfig } from "../node/config.js";
import { auditCommand } from "./auditCommand.js";

// Each command loads what it runs when it runs: `edgecoder up`'s supervisor, which only starts
// and watches the node's process, then holds none of the node's modules in its memory.

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

/** The node's settings from the flags given and the environment (loaded on use: see above). */
const nodeConfig = async (flags: Parameters<typeof import("../node/config.js").nodeConfigFrom>[0] = globals()): Promise<NodeConfig> =>
  (await import("../node/config.js")).nodeConfigFrom(flags);

program
  .command("up")
  .description("start a node: coordinator 4301, inference 4302, control plane 4303, its own worker; NATS and Postgres embedded unless given")
  .option("--host <host>", "address the gateways bind to [EC_HOST, default 127.0.0.1]")
  .option("--coordinator-port <port>", "coordinator port [COORDINATOR_PORT, default 4301]", port)
  .option("--inference-port <port>", "inference port [INFERENCE_PORT, default 4302]", port)
  .option("--control-plane-port <port>", "control plane port [CONTROL_PLANE_PORT, default 4303]", port)
  .option("--embedded-nats-port <port>", "port of the embedded nats-server [EC_EMBEDDED_NATS_PORT, default 4322]", port)
  .option("--ollama-host <url>", "Ollama server for decomposition, code and escalation [OLLAMA_HOST, default http://127.0.0.1:11434]")
  .option("--model <name>", "model name [EC_MODEL, default qwen2.5-coder:1.5b]")
  .option("--sandbox <mode>", "where code runs: bwrap | docker | none (IDE only) [EC_SANDBOX, default bwrap]")
  .option("--no-worker", "do not fork this node's own worker [EC_WORKER=false]")
  .option("--no-restart", "run the node in this process, not started again when a part of it fails")
  .action(async (opts: { host?: string; coordinatorPort?: number; inferencePort?: number; controlPlanePort?: number; embeddedNatsPort?: number; ollamaHost?: string; model?: string; sandbox?: string; worker: boolean; restart: boolean }) => {
    const { worker, restart, ...rest } = opts;
    const { up } = await import("./up.js");
    await up(() => nodeConfig({ ...globals(), ...rest, ...(worker ? {} : { worker: false }) }), { restart });
  });

const access = async (opts: { coordinatorUrl?: string }) => {
  const { coordinatorAccess } = await import("./submit.js");
  return coordinatorAccess({ dataDir: (await nodeConfig()).dataDir, ...(opts.coordinatorUrl ? { coordinatorUrl: opts.coordinatorUrl } : {}) });
};

program
  .command("submit")
  .description("submit a coding prompt to the mesh, follow it, and print the code and its output")
  .argument("<prompt>", "what to write, in plain words")
  .option("--language <lang>", "python | javascript", "python")
  .option("--model <name>", "ask for workers running this model")
  .option("--no-wait", "print the task id and return")
  .option("--timeout <seconds>", "how long to wait for the result", (v) => Number(v), 600)
  .option("--coordinator-url <url>", "coordinator [EC_COORDINATOR_URL, default http://127.0.0.1:4301]")
  .action(async (prompt: string, opts: { language: string; model?: string; wait: boolean; timeout: number; coordinatorUrl?: string }) => {
    if (!["python", "javascript"].includes(opts.language)) throw new InvalidArgumentError(`--language must be python or javascript, not ${opts.language}`);
    if (!Number.isFinite(opts.timeout) || opts.timeout <= 0) throw new InvalidArgumentError("--timeout must be a positive number of seconds");
    const { submitAndWait } = await import("./submit.js");
    const code = await submitAndWait(
      await access(opts),
      { prompt, language: opts.language, wait: opts.wait, timeoutMs: opts.timeout * 1000, ...(opts.model ? { requestedModel: opts.model } : {}) },
      (line) => console.log(line),
    );
    process.exitCode = code;
  });

program
  .command("tasks")
  .description("list recent tasks from the tasks projection")
  .option("--status <status>", "submitted | running | completed | failed")
  .option("--limit <n>", "how many", (v) => Number(v), 20)
  .option("--coordinator-url <url>", "coordinator [EC_COORDINATOR_URL, default http://127.0.0.1:4301]")
  .action(async (opts: { status?: string; limit: number; coordinatorUrl?: string }) => {
    const { listTasks } = await import("./submit.js");
    await listTasks(await access(opts), { limit: opts.limit, ...(opts.status ? { status: opts.status } : {}) }, (line) => console.log(line));
  });

program
  .command("replay")
  .description("rebuild projections from sequence 1 of their streams")
  .option("--projection <name>", "only this projection (default: all)")
  .option("--no-progress", "no progress bar")
  .option("--stats", "print one JSON line per projection: counts, duration and the process's peak RSS")
  .action(async (opts: { projection?: string; progress: boolean; stats?: boolean }) => {
    const cfg = await nodeConfig();
    const { replay } = await import("./replay.js");
    const results = await replay({ ...opts, natsUrl: cfg.natsUrl, dataDir: cfg.dataDir, ...(cfg.databaseUrl ? { databaseUrl: cfg.databaseUrl } : {}) });
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
    const { loadOrCreateIdentity } = await import("../adapters/crypto/nodeIdentity.js");
    const id = await loadOrCreateIdentity((await nodeConfig()).dataDir);
    console.log(`${id.publicKey}  ${id.file}`);
  });

program
  .command("streams")
  .description("apply the stream declarations of deploy/nats to a NATS server")
  .option("--replicas <n>", "replicas per stream", (v) => Number(v))
  .action(async (opts: { replicas?: number }) => {
    const cfg = await nodeConfig({ ...globals(), ...(opts.replicas ? { streamReplicas: opts.replicas } : {}) });
    const [{ connectNats }, { applyStreams }, { resolveNatsUrl }] = await Promise.all([
      import("../adapters/nats/connection.js"),
      import("../adapters/nats/streams.js"),
      import("./replay.js"),
    ]);
    const nc = await connectNats(await resolveNatsUrl(cfg.natsUrl, cfg.dataDir), "edgecoder-streams");
    try {
      for (const o of await applyStreams(nc, { replicas: cfg.streamReplicas })) console.log(`${o.name}: ${o.action}`);
    } finally {
      await nc.close();
    }
  });

program
  .command("status")
  .description("a running node's identity, dependencies, streams, projection lag, queue, agents and ledger (exit 1: something is down, 2: no node answers)")
  .option("--json", "print the status as JSON")
  .option("--control-plane-url <url>", "the node's control plane [EC_CONTROL_PLANE_URL, default http://<EC_HOST>:<CONTROL_PLANE_PORT>]")
  .action(async (opts: { json?: boolean; controlPlaneUrl?: string }) => {
    const cfg = await nodeConfig();
    const { runStatus, controlPlaneUrlOf, NO_NODE } = await import("./status.js");
    const url = opts.controlPlaneUrl ?? (process.env.EC_CONTROL_PLANE_URL || controlPlaneUrlOf(cfg.host, cfg.controlPlanePort));
    process.exitCode = await runStatus({ url, dataDir: cfg.dataDir, json: opts.json === true }, (text) => console.log(text)).catch((err: unknown) => {
      console.error(`edgecoder status: ${err instanceof Error ? err.message : String(err)}`);
      return NO_NODE;
    });
  });

program
  .command("price")
  .description("the network price per resource class (the weighted median of current proposals) and this node's own proposal (exit 2: no node answers)")
  .option("--json", "print the prices as JSON")
  .option("--control-plane-url <url>", "the node's control plane [EC_CONTROL_PLANE_URL, default http://<EC_HOST>:<CONTROL_PLANE_PORT>]")
  .action(async (opts: { json?: boolean; controlPlaneUrl?: string }) => {
    const cfg = await nodeConfig();
    const [{ runPrice }, { controlPlaneUrlOf, NO_NODE }] = await Promise.all([import("./price.js"), import("./status.js")]);
    const url = opts.controlPlaneUrl ?? (process.env.EC_CONTROL_PLANE_URL || controlPlaneUrlOf(cfg.host, cfg.controlPlanePort));
    await runPrice({ url, dataDir: cfg.dataDir, json: opts.json === true }, (text) => console.log(text)).catch((err: unknown) => {
      console.error(`edgecoder price: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = NO_NODE;
    });
  });

program
  .command("credits")
  .description("an account's balance and latest movements, each with the event that caused it (exit 1: no such account yet, 2: no node answers)")
  .argument("[account]", "the credit account (default: local, the node operator's)", "local")
  .option("--limit <n>", "how many movements", (v) => Number(v), 10)
  .option("--json", "print as JSON (amounts in millicredits)")
  .option("--control-plane-url <url>", "the node's control plane [EC_CONTROL_PLANE_URL, default http://<EC_HOST>:<CONTROL_PLANE_PORT>]")
  .action(async (account: string, opts: { limit: number; json?: boolean; controlPlaneUrl?: string }) => {
    if (!Number.isInteger(opts.limit) || opts.limit < 1 || opts.limit > 500) throw new InvalidArgumentError("--limit must be a whole number from 1 to 500");
    const cfg = await nodeConfig();
    const [{ runCredits, NO_NODE }, { controlPlaneUrlOf }] = await Promise.all([import("./credits.js"), import("./status.js")]);
    const url = opts.controlPlaneUrl ?? (process.env.EC_CONTROL_PLANE_URL || controlPlaneUrlOf(cfg.host, cfg.controlPlanePort));
    process.exitCode = await runCredits({ url, dataDir: cfg.dataDir, account, limit: opts.limit, json: opts.json === true }, (text) => console.log(text)).catch((err: unknown) => {
      console.error(`edgecoder credits: ${err instanceof Error ? err.message : String(err)}`);
      return NO_NODE;
    });
  });

program.addCommand(auditCommand(globals));

program.parseAsync().catch((err: unknown) => {
  console.error(`edgecoder: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
