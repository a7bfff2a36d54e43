import { join } from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import type pg from "pg";
import { loadOrCreateIdentity } from "../adapters/crypto/nodeIdentity.js";
import { signingPool } from "../adapters/crypto/signingPool.js";
import { verificationPool } from "../adapters/crypto/verificationPool.js";
import { commandHandlers } from "../app/commandHandlers.js";
import { connectNats } from "../adapters/nats/connection.js";
import { createEventStore } from "../adapters/nats/eventStore.js";
import { applyStreams } from "../adapters/nats/streams.js";
import { findUndeclaredSubjects, undeclaredSubjectsMessage } from "../adapters/nats/subjectFormat.js";
import { createPool, ensureDatabase } from "../adapters/postgres/database.js";
import { kvHeartbeatStore } from "../adapters/agents/heartbeats.js";
import { cloudEscalator } from "../adapters/escalation/cloudEscalator.js";
import { inferenceEscalator } from "../adapters/escalation/inferenceEscalator.js";
import { parentCoordinator } from "../adapters/escalation/parentCoordinator.js";
import { startDecomposer } from "../app/flows/decomposer.js";
import type { InferenceService } from "../adapters/inference/decomposeClient.js";
import { startEscalationFlow } from "../app/flows/escalationFlow.js";
import { startTaskFlow } from "../app/flows/taskFlow.js";
import { startChainer } from "../adapters/ledger/chainer.js";
import { startNodeAnchoring } from "../adapters/ledger/nodeAnchoring.js";
import { createSandbox } from "../adapters/executor/sandbox.js";
import { startResultChecker } from "../app/results/resultChecker.js";
import { checkSubset } from "../adapters/executor/subsetCheck.js";
import { ollamaProvider } from "../adapters/models/ollamaProvider.js";
import { kvNonceStore } from "../adapters/security/signedRequests.js";
import { startLeaseReaper } from "../app/work/leaseReaper.js";
import type { Escalator } from "../domain/escalation/escalator.js";
import { buildCoordinator } from "../gateways/coordinator/app.js";
import { buildInference } from "../gateways/inference/app.js";
import { buildControlPlane } from "../gateways/controlPlane/app.js";
import { projectors } from "../projections/index.js";
import { startLiveProjection, type LiveProjection } from "../projections/live.js";
import { migrate } from "../projections/migrate.js";
import { loadOrCreateAdminToken } from "./adminToken.js";
import type { NodeConfig } from "./config.js";
import { acquirePidLock, LockHeldError } from "../adapters/process/pidLock.js";
import { natsConnectionCheck } from "../adapters/nats/connectionHealth.js";
import { loadOrCreateEmbeddedCredentials } from "./embeddedCredentials.js";
import { redactUrl, startEmbeddedDatabase, startEmbeddedNats } from "./embeddedServices.js";
import { healthReport, type HealthCheck, type HealthReport } from "./health.js";
import { countedModel, countedSandbox } from "../adapters/metrics/counted.js";
import { registerNodeGauges } from "../adapters/metrics/nodeGauges.js";
import { nodeObserver } from "../app/status/observeNode.js";
import { nodeMetrics } from "../adapters/metrics/registry.js";
import { nodeStatus } from "../app/status/nodeStatus.js";
import { workerEnvironment } from "./workerEnvironment.js";
import { recordCheckOn } from "../app/results/recordCheck.js";
import { coordinatorAccountOf, grantDevelopmentCredits, LOCAL_ACCOUNT } from "../app/credits/nodeAccounts.js";
import { startCreditFlow } from "../app/flows/creditFlow.js";
import { startIssuanceFlow } from "../app/flows/issuanceFlow.js";
import { workSignal } from "../app/work/workSignal.js";
import { anyQueued } from "../projections/tasks/queries.js";
import { tasksProjector } from "../projections/tasks/tasksProjector.js";
import { startOrphanHoldSweeper } from "../app/credits/orphanHolds.js";
import { creditsContext } from "../domain/credits/context.js";
import { superviseWorker, type SupervisedWorker } from "./workerProcess.js";
import { LightningConfigError, lightningProviderFrom } from "../adapters/lightning/config.js";
import type { LightningProvider } from "../adapters/lightning/provider.js";
import { systemClock } from "../app/clock.js";
import { startEconomyPart } from "./economyPart.js";

export { EMBEDDED_POSTGRES_URL_FILE, NATS_URL_FILE } from "./embeddedServices.js";
export const NODE_LOCK_FILE = "node.lock";

/** The node refuses to start for a reason that starting again will not change: a configuration error. */
export class StartRefusedError extends Error {
  override readonly name: string = "StartRefusedError";
}

/** Another live node holds the data folder: starting again will not help until it stops. */
export class DataFolderInUseError extends StartRefusedError {
  override readonly name = "DataFolderInUseError";
}

export interface RunningNode {
  readonly publicKey: string;
  readonly natsUrl: string;
  readonly databaseUrl: string;
  readonly coordinatorUrl: string;
  readonly inferenceUrl: string;
  readonly controlPlaneUrl: string;
  readonly adminToken: string;
  readonly adminTokenFile?: string;
  /** The forked worker's process ids so far, the running one last. */
  workerPids(): readonly number[];
  /** What the node depends on, and what of it is down. */
  health(): Promise<HealthReport>;
  stop(): Promise<void>;
}

type Log = (msg: string) => void;

/**
 * Boots a node: identity, NATS (its own nats-server child unless NATS_URL is given), streams,
 * Postgres (embedded unless DATABASE_URL is given) and its projections, the task flows (plan,
 * queue, escalate) and the lease reaper, the inference service, coordinator and control plane,
 * and last its own worker, forked and kept running. Stops in reverse order.
 */
/** What a test may set that no operator should: the result-check sampling's random source, to make it deterministic. */
export interface NodeInternals {
  readonly draw?: () => number;
  /** The Lightning provider, instead of the one the environment names: a test's mock it can pay, or an adapter for a fake node. */
  readonly lightning?: LightningProvider;
  /**
   * Tasks cost nothing and work earns nothing: no hold at submission, no credit flow. Only for
   * the bench, which prints the full cycle with and without the credits' work side by side.
   */
  readonly unpaid?: boolean;
}

export async function startNode(config: NodeConfig, log: Log = console.log, onFatal: (reason: string) => void = () => undefined, internals: NodeInternals = {}): Promise<RunningNode> {
  const cleanups: (() => Promise<unknown>)[] = [];
  let stopping = false;
  const stop = async () => {
    stopping = true;
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => log(`shutdown: ${String(err)}`));
  };
  try {
    const startedAt = new Date().toISOString();
    // economy: the Lightning provider is read first, so a bad setting (the mock in production) refuses the node before anything starts.
    const lightning = internals.lightning ?? (await lightningProviderFrom({ ...process.env, EC_ENV: config.environment }).catch((err: unknown) => {
      throw err instanceof LightningConfigError ? new StartRefusedError(err.message) : err;
    }));
    // This node's own registry: another node in the same process (tests) counts apart.
    const metrics = nodeMetrics();
    const gatewayLog = { log, logLevel: config.logLevel, metrics };
    const identity = await loadOrCreateIdentity(config.dataDir);
    log(`identity ${identity.publicKey} (${identity.created ? "created" : "loaded"} ${identity.file})`);

    // One node per data folder: a second would share the identity, the stores and the ports.
    const lock = await acquirePidLock(join(config.dataDir, NODE_LOCK_FILE), "node").catch((err: unknown) => {
      if (err instanceof LockHeldError) throw new DataFolderInUseError(`another node (pid ${err.holder}) runs on ${config.dataDir}: stop it first, or use another --data-dir`);
      throw err;
    });
    cleanups.push(() => lock.release());
    const health: HealthCheck[] = [];
    const nodeHealth = () => healthReport(health);
    const down = (what: string) => (reason: string) => {
      if (stopping) return;
      log(`${what} is down: ${reason}`);
      onFatal(`${what} is down: ${reason}`);
    };
    const credentials = !config.natsUrl || !config.databaseUrl ? await loadOrCreateEmbeddedCredentials(config.dataDir) : undefined;

    let natsUrl = config.natsUrl;
    if (!natsUrl) {
      const server = await startEmbeddedNats({
        dataDir: config.dataDir,
        port: config.embeddedNatsPort,
        serverName: `ec-${identity.publicKey.slice(0, 8)}`,
        credentials: credentials!,
        onDown: down("the embedded nats-server"),
        log,
      });
      cleanups.push(() => server.stop());
      natsUrl = server.url;
      health.push({ name: "nats-server", check: () => (server.alive() ? undefined : "the embedded nats-server exited") });
    }
    const nc: NatsConnection = await connectNats(natsUrl, `edgecoder-${identity.publicKey.slice(0, 8)}`);
    cleanups.push(() => nc.drain());
    health.push({ name: "nats", check: natsConnectionCheck(nc) });
    const streams = await applyStreams(nc, { replicas: config.streamReplicas });
    log(`streams: ${streams.map((s) => `${s.name} ${s.action}`).join(", ")}`);
    // Data of an older subject format would be read as nothing (or refused commit by commit): refuse it whole, now.
    const undeclared = await findUndeclaredSubjects(nc);
    if (undeclared.length > 0) throw new StartRefusedError(undeclaredSubjectsMessage(undeclared));

    let databaseUrl = config.databaseUrl;
    let poolSize: number | undefined;
    if (!databaseUrl) {
      const embedded = await startEmbeddedDatabase({ dataDir: config.dataDir, credentials: credentials!, onDown: down("the embedded Postgres"), log });
      cleanups.push(() => embedded.stop());
      databaseUrl = embedded.url;
      poolSize = embedded.maxConnections;
      health.push({ name: "embedded postgres", check: () => (embedded.alive() ? undefined : "the embedded Postgres process exited") });
    }
    await ensureDatabase(databaseUrl);
    const applied = await migrate(databaseUrl);
    log(`postgres ${redactUrl(databaseUrl)}: ${applied.length} migration(s) applied`);
    const pool: pg.Pool = createPool(databaseUrl, poolSize, (err) => log(`postgres: a connection was lost (${err.message}); the next query opens another`));
    cleanups.push(() => pool.end());
    health.push({ name: "postgres", check: async () => void (await pool.query("SELECT 1")) });

    const store = await createEventStore(nc);
    const verifier = verificationPool();
    cleanups.push(() => verifier.close());
    // Pulls that wait for work wake when the tasks projection moves, or when a look at the queue
    // (once a second, while any waits) finds work another coordinator queued in a shared database.
    const work = workSignal({ anyQueued: () => anyQueued(pool), onError: (err) => log(`work signal: ${err instanceof Error ? err.message : String(err)}`) });
    cleanups.push(async () => work.stop());
    let tasksSeq = 0;
    const lives: LiveProjection[] = projectors.map((p) =>
      startLiveProjection(p, {
        store,
        pool,
        verifier,
        singleSession: !config.databaseUrl,
        onError: (err) => log(`projection ${p.name}: ${String(err)}`),
        onRebuild: log,
        // The queue's read model moved: pulls waiting for work look again.
        // As many waiters as commits arrived, and a few more: each may be a subtask to hand out.
        ...(p === tasksProjector
          ? {
              onAdvance: (_stream: string, seq: number) => {
                work.notify(Math.max(1, seq - tasksSeq) + 2);
                tasksSeq = seq;
              },
            }
          : {}),
      }),
    );
    cleanups.push(() => Promise.all(lives.map((l) => l.stop())));

    const sealer = signingPool(identity.privateKeyPem);
    cleanups.push(() => sealer.close());
    // One handler per aggregate kind, from the list of contexts, shared by the gateways and the flows.
    const handlers = commandHandlers({ store, sealer, verifier });
    const { account: handleCredit, agent: handleAgent, subtask: handleSubtask, task: handleTask } = handlers;
    const admin = await loadOrCreateAdminToken(config.dataDir, config.adminToken);
    const onError = (what: string) => (err: unknown) => log(`${what}: ${err instanceof Error ? err.message : String(err)}`);

    const provider = countedModel(ollamaProvider(config.ollamaHost, config.model), metrics);
    const inference = await buildInference({ provider, token: admin.token, ...gatewayLog });
    const inferenceAddress = await inference.listen({ host: config.host, port: config.inferencePort });
    cleanups.push(() => inference.close());
    const inferenceUrl = config.inferenceUrl ?? inferenceAddress;
    // Another node's inference service wants that node's token (INFERENCE_TOKEN); this node's, its own.
    const inferenceService = { url: inferenceUrl, token: (config.inferenceUrl ? config.inferenceToken : undefined) ?? admin.token };
    const modelNote = await provider.available().then(
      (models) => (models.includes(config.model) ? `model ${config.model}` : `model ${config.model} NOT FOUND at ${config.ollamaHost} (has: ${models.join(", ") || "none"})`),
      () => `no model server reachable at ${config.ollamaHost}: tasks fail with model_unavailable until one is`,
    );
    log(`inference on ${inferenceAddress} (${modelNote})`);

    const coordinatorAccount = coordinatorAccountOf(identity.publicKey);
    const granted = await grantDevelopmentCredits({
      handleCredit,
      accountHasHistory: async (subject) => (await store.lastSeqOf(creditsContext.stream, subject)) > 0,
      environment: config.environment,
      credits: config.devGrantCredits,
      now: new Date(),
    });
    if (granted) log(`development node: account ${LOCAL_ACCOUNT} was granted ${granted / 1000} credits (EC_ENV=production gives none)`);

    // The node's own sandbox: escalation answers and the result checks run their code in it.
    const sandbox = countedSandbox(await createSandbox({ mode: config.sandbox, agentMode: "worker", sandboxRequired: config.sandboxRequired }), metrics);
    const flows = [
      await startResultChecker({
        nc,
        pool,
        handleSubtask,
        recordCheck: recordCheckOn(handlers),
        sandbox,
        checkSubset,
        verifier,
        log,
        onError: onError("result checker"),
      }),
      await startTaskFlow({ nc, store, handlers, verifier, maxAttempts: config.maxAttempts, onError: onError("task flow") }),
      ...(internals.unpaid ? [] : [await startCreditFlow({ nc, store, handlers, pool, coordinatorAccount, defaultModel: config.model, verifier, onError: onError("credit flow") })]),
      await startIssuanceFlow({ nc, store, handlers, verifier, onError: onError("issuance flow") }),
      await startDecomposer({ nc, handlers, verifier, inference: inferenceService, onError: onError("decomposer") }),
      await startEscalationFlow({
        nc,
        store,
        handlers,
        verifier,
        checkSubset,
        escalators: escalatorsFor(config, inferenceService),
        sandbox,
        log,
        onError: onError("escalation"),
      }),
    ];
    cleanups.push(() => Promise.all(flows.map((f) => f.stop())));
    const chainer = await startChainer({
      nc,
      store,
      sealer,
      verifier,
      checkpointEvery: config.checkpointEvery,
      checkpointIntervalMs: config.checkpointIntervalMs,
      onError: onError("ledger"),
    });
    cleanups.push(() => chainer.stop());
    const observe = nodeObserver({ nc, pool, projectors, chainer });
    registerNodeGauges(metrics.registry, observe);
    if (config.anchorProxyUrl && config.anchorProxyToken) {
      const anchoring = startNodeAnchoring({
        store,
        sealer,
        chainer,
        proxyUrl: config.anchorProxyUrl,
        proxyToken: config.anchorProxyToken,
        intervalMs: config.anchorIntervalMs,
        log,
      });
      cleanups.push(() => anchoring.stop());
      log(`anchoring checkpoints through ${config.anchorProxyUrl} every ${Math.round(config.anchorIntervalMs / 60_000)} min`);
    }

    const heartbeats = await kvHeartbeatStore(nc);
    const reaper = startLeaseReaper({
      pool,
      heartbeats,
      handleSubtask,
      heartbeatIntervalMs: config.heartbeatMs,
      everyMs: Math.max(250, Math.min(5_000, config.heartbeatMs / 2)),
      onError: onError("lease reaper"),
    });
    cleanups.push(() => reaper.stop());
    const orphanHolds = startOrphanHoldSweeper({ pool, store, handleCredit, everyMs: 60_000, onError: onError("orphan hold sweeper") });
    cleanups.push(() => orphanHolds.stop());

    // ---- economy: prices, Lightning payments, issuance votes, the treasury (src/app/economy, served by the control plane) ----
    const economyPart = await startEconomyPart({
      config,
      pool,
      store,
      handlers,
      heartbeats,
      nodeKey: identity.publicKey,
      now: systemClock,
      lightning,
      log,
      onError,
    });
    cleanups.push(() => economyPart.stop());
    // ---- end of economy ----

    const coordinator = await buildCoordinator({
      health: nodeHealth,
      ownerMaxLeases: config.ownerMaxLeases,
      ...(internals.draw ? { draw: internals.draw } : {}),
      pool,
      nonces: await kvNonceStore(nc),
      heartbeats,
      handleAgent,
      handleSubtask,
      handleTask,
      ...(internals.unpaid ? {} : { handleCredit }),
      store,
      defaultModel: config.model,
      satsPerCredit: () => economyPart.economy.prices.satsPerCredit(),
      heartbeatIntervalMs: config.heartbeatMs,
      leaseMs: config.leaseMs,
      sandboxRequired: config.sandboxRequired,
      autoApprove: config.autoApprove,
      registrationLimits: { perAddress: config.registerPerAddress, perKey: config.registerPerKey, windowMs: config.registerWindowMs },
      adminToken: admin.token,
      escalator: inferenceEscalator(inferenceService),
      ...gatewayLog,
    });
    const coordinatorUrl = await coordinator.listen({ host: config.host, port: config.coordinatorPort });
    cleanups.push(() => coordinator.close());
    log(`coordinator on ${coordinatorUrl}`);

    let address = "";
    const status = () =>
      nodeStatus({ node: { publicKey: identity.publicKey, startedAt, urls: { coordinator: coordinatorUrl, inference: inferenceAddress, controlPlane: address } }, health: nodeHealth, observe });
    const controlPlane = await buildControlPlane({ health: nodeHealth, pool, handleCredit, handleAgent, handleSubtask, adminToken: admin.token, adminAllowlist: config.adminAllowlist, status, environment: config.environment, economy: economyPart.economy, ...gatewayLog });
    address = await controlPlane.listen({ host: config.host, port: config.controlPlanePort });
    cleanups.push(() => controlPlane.close());
    log(`control plane on ${address}${admin.file ? ` (admin token in ${admin.file})` : ""}`);

    let worker: SupervisedWorker | undefined;
    if (config.worker) {
      worker = superviseWorker({
        log: (line) => log(line.startsWith("worker") ? line : `worker: ${line}`),
        env: workerEnvironment(process.env, {
          EC_COORDINATOR_URL: coordinatorUrl,
          OLLAMA_HOST: config.ollamaHost,
          EC_WORKER_MODEL: config.model,
          EC_SANDBOX: config.sandbox,
          EC_AGENT_MODE: "worker",
          SANDBOX_REQUIRED: String(config.sandboxRequired),
          EC_WORKER_DATA_DIR: join(config.dataDir, "worker"),
          EC_WORKER_OWNER: config.workerOwner,
          ...(config.deviceType ? { EC_DEVICE_TYPE: config.deviceType } : {}),
        }),
      });
      const workerSource = () => worker!.metrics();
      metrics.sources.add(workerSource);
      cleanups.push(() => {
        metrics.sources.delete(workerSource);
        return worker!.stop();
      });
      health.push({ name: "worker", check: () => (worker!.running() ? undefined : "the node's worker is not running (it is restarted when it dies)") });
    }

    return {
      publicKey: identity.publicKey,
      natsUrl,
      databaseUrl,
      coordinatorUrl,
      inferenceUrl: inferenceAddress,
      controlPlaneUrl: address,
      adminToken: admin.token,
      workerPids: () => worker?.pids ?? [],
      health: nodeHealth,
      ...(admin.file ? { adminTokenFile: admin.file } : {}),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The automatic escalation steps this node is configured for, in the waterfall's order. */
function escalatorsFor(config: NodeConfig, inference: InferenceService): Escalator[] {
  const steps: Escalator[] = [inferenceEscalator(inference)];
  if (config.parentCoordinatorUrl) {
    steps.push(parentCoordinator({ url: config.parentCoordinatorUrl, ...(config.parentCoordinatorToken ? { token: config.parentCoordinatorToken } : {}) }));
  }
  if (config.cloudBaseUrl) steps.push(cloudEscalator({ baseURL: config.cloudBaseUrl, apiKey: config.cloudApiKey, model: config.cloudModel }));
  return steps;
}
