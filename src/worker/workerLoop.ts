import type { Ed25519Signer } from "../adapters/crypto/ed25519.js";
import { ModelUnavailableError, type ModelProvider } from "../adapters/models/ollamaProvider.js";
import type { Sandbox } from "../adapters/executor/sandbox.js";
import { readPowerTelemetry } from "../adapters/power/telemetry.js";
import type { PowerTelemetry } from "../domain/agents/powerPolicy.js";
import type { Language } from "../domain/tasks/decomposition.js";
import type { AssignedSubtask, PullReply } from "../schemas/coordinatorApi.js";
import { coordinatorClient, CoordinatorRequestError, type CoordinatorClient } from "./coordinatorClient.js";
import { runSubtask } from "./runSubtask.js";

export interface Backoff {
  readonly minMs: number;
  readonly maxMs: number;
}

export interface WorkerOptions {
  readonly coordinatorUrl: string;
  /** The credit account this worker's work pays (EC_WORKER_OWNER); none: its own key's id is its account. */
  readonly owner?: string | undefined;
  readonly signer: Ed25519Signer;
  readonly provider: ModelProvider;
  readonly sandbox: Sandbox;
  readonly mode: "worker" | "ide";
  readonly log: (line: string) => void;
  readonly name?: string;
  readonly languages?: readonly Language[];
  /** Named in the log when the model is missing (the provider's errors name it when it is unreachable). */
  readonly modelHost?: string;
  readonly telemetry?: () => Promise<PowerTelemetry>;
  readonly maxIterations?: number;
  /** How often the provider's models are checked again, with or without work; default 30 s. */
  readonly modelRecheckMs?: number;
  /** Waits after no_work, doubling from min to max; default 250 ms to 2 s. */
  readonly idlePoll?: Backoff;
  /**
   * How long each pull may wait at the coordinator for work (long polling); default 20 s, 0:
   * none. A no_work that comes back sooner than half of it (a coordinator that does not wait)
   * is followed by the idle backoff, as without long polling.
   */
  readonly pullWaitMs?: number;
  /** Waits after a failed request, doubling from min to max; default 1 s to 30 s. */
  readonly retry?: Backoff;
  /** How long to wait when the coordinator blocks this worker (power, approval, sandbox); default 30 s. */
  readonly blockedWaitMs?: number;
  readonly client?: CoordinatorClient;
}

export interface RunningWorker {
  /** Ends the loop: a subtask in progress is abandoned at its next step (its lease expires), no timer is left. */
  stop(): Promise<void>;
}

/** Ollama lists "name:latest" for a model configured as "name". */
export function hasModel(available: readonly string[], model: string): boolean {
  const bare = (m: string) => m.replace(/:latest$/, "");
  return available.some((m) => bare(m) === bare(model));
}

/** The coordinator's interval, kept sane whatever it says. */
const heartbeatInterval = (ms: number) => Math.min(300_000, Math.max(100, ms));
const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
const jitter = (ms: number) => Math.round(ms * (0.8 + Math.random() * 0.4));
const messageOf = (err: unknown) => (err instanceof CoordinatorRequestError ? err.toString() : err instanceof Error ? err.message : String(err));

/**
 * A worker: registers with the models it can run, heartbeats on the coordinator's interval,
 * pulls one subtask at a time, runs it (plan, code, run, reflect) and posts the result. With no
 * model reachable it registers with none and takes no code work until one appears.
 */
export function startWorker(opts: WorkerOptions): RunningWorker {
  const client = opts.client ?? coordinatorClient({ url: opts.coordinatorUrl, signer: opts.signer });
  const log = opts.log;
  const telemetry = opts.telemetry ?? (() => readPowerTelemetry());
  const recheckMs = opts.modelRecheckMs ?? 30_000;
  // An idle worker asks again within 2 s: a new task should not wait long for a free worker, and an
  // empty pull costs the coordinator one indexed query.
  const idlePoll = opts.idlePoll ?? { minMs: 250, maxMs: 2_000 };
  const pullWaitMs = opts.pullWaitMs ?? 20_000;
  const retry = opts.retry ?? { minMs: 1_000, maxMs: 30_000 };
  const blockedWaitMs = opts.blockedWaitMs ?? 30_000;
  const model = opts.provider.model;
  const stopping = new AbortController();
  const { signal } = stopping;

  let heartbeatTimer: NodeJS.Timeout | undefined;
  let heartbeatInFlight: Promise<void> = Promise.resolve();
  /** The models the coordinator was last told of; undefined when (re-)registration is due. */
  let registered: string[] | undefined;
  let noModelLogged = false;
  let lastRefusal: string | undefined;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done);
    });

  /** A 401 or 404 means the coordinator does not know this agent (any more): register again. */
  const forgetsUs = (err: unknown) => err instanceof CoordinatorRequestError && (err.status === 401 || err.status === 404);

  async function usableModels(): Promise<string[]> {
    let available: string[];
    try {
      available = await opts.provider.available();
    } catch (err) {
      if (!(err instanceof ModelUnavailableError)) throw err;
      if (!noModelLogged) log(`${err.message}: taking no code work (checking again every ${recheckMs / 1000} s)`);
      noModelLogged = true;
      return [];
    }
    if (hasModel(available, model)) {
      if (noModelLogged) log(`model ${model} is reachable again: taking code work`);
      noModelLogged = false;
      return [model];
    }
    if (!noModelLogged) {
      const has = available.length > 0 ? `it has ${available.join(", ")}` : "it has no models";
      log(`no model ${model} reachable at ${opts.modelHost ?? "the model server"} (${has}; run: ollama pull ${model}): taking no code work (checking again every ${recheckMs / 1000} s)`);
    }
    noModelLogged = true;
    return [];
  }

  function scheduleHeartbeat(intervalMs: number) {
    clearTimeout(heartbeatTimer);
    if (signal.aborted) return;
    heartbeatTimer = setTimeout(() => {
      heartbeatInFlight = (async () => {
        try {
          const reply = await client.heartbeat({ power: await telemetry(), models: registered ?? [] }, { signal });
          if (reply.status === "none") {
            log("the coordinator does not know this worker (any more); registering again");
            registered = undefined;
          }
          intervalMs = heartbeatInterval(reply.heartbeatIntervalMs);
        } catch (err) {
          if (signal.aborted) return;
          if (forgetsUs(err)) registered = undefined;
          log(`heartbeat failed: ${messageOf(err)}`);
        }
      })().finally(() => scheduleHeartbeat(intervalMs));
    }, intervalMs);
  }

  async function register(models: string[]) {
    const reply = await client.register(
      {
        ...(opts.name ? { name: opts.name } : {}),
        ...(opts.owner ? { owner: opts.owner } : {}),
        mode: opts.mode,
        capabilities: { models, languages: [...(opts.languages ?? ["python", "javascript"])], sandbox: opts.sandbox.mode },
        // The coordinator holds the worker to it: every heartbeat and pull must report the same.
        deviceType: (await telemetry()).deviceType,
      },
      { signal },
    );
    registered = models;
    log(`registered with ${client.url} as ${reply.agentId} (${reply.status}); models: ${models.join(", ") || "none"}; sandbox ${opts.sandbox.mode}`);
    scheduleHeartbeat(heartbeatInterval(reply.heartbeatIntervalMs));
  }

  async function postResult(subtask: AssignedSubtask, run: Awaited<ReturnType<typeof runSubtask>>) {
    const body = { subtaskId: subtask.subtaskId, leaseId: subtask.leaseId, ok: run.ok, code: run.code, output: run.output, stderr: run.stderr, durationMs: run.durationMs };
    for (let attempt = 1, wait = retry.minMs; ; attempt++, wait = Math.min(retry.maxMs, wait * 2)) {
      try {
        const reply = await client.result(body);
        const caused = reply.events.length > 0 ? `: ${reply.events.join(", ")}` : "";
        log(`subtask ${subtask.subtaskId}: result ${reply.accepted ? "accepted" : "not accepted"} (ok=${run.ok}, ${run.iterations} tries, ${run.durationMs} ms)${caused}`);
        return;
      } catch (err) {
        if (err instanceof CoordinatorRequestError && err.status === 409) {
          log(`subtask ${subtask.subtaskId}: result refused, the lease was lost (${err.code}: ${err.message}); moving on`);
          return;
        }
        // Another 4xx will not change on a retry; a network error or a 5xx might, while the lease lasts.
        const hopeless = err instanceof CoordinatorRequestError && err.status < 500;
        if (hopeless || signal.aborted || attempt >= 5 || Date.now() + wait > Date.parse(subtask.leaseExpiresAt)) {
          log(`subtask ${subtask.subtaskId}: result not delivered: ${messageOf(err)}`);
          return;
        }
        await sleep(jitter(wait));
      }
    }
  }

  /** Runs one subtask; false when the model went away (the subtask is abandoned and models are checked again). */
  async function work(subtask: AssignedSubtask): Promise<boolean> {
    const id = subtask.subtaskId;
    log(`subtask ${id}: ${subtask.language}, attempt ${subtask.attempt}, ${subtask.timeoutMs} ms limit`);
    try {
      const run = await runSubtask(subtask, {
        provider: opts.provider,
        sandbox: opts.sandbox,
        signal,
        log: (line) => log(`subtask ${id}: ${line}`),
        ...(opts.maxIterations !== undefined ? { maxIterations: opts.maxIterations } : {}),
      });
      await postResult(subtask, run);
      return true;
    } catch (err) {
      if (signal.aborted) {
        log(`subtask ${id}: abandoned, the worker is stopping; its lease will expire`);
        return true;
      }
      if (err instanceof ModelUnavailableError) {
        log(`subtask ${id}: abandoned, ${err.message}; its lease will expire`);
        return false;
      }
      throw err;
    }
  }

  /** Waits the pull reply asks for; false when models should be checked and registration redone now. */
  async function obey(reply: Extract<PullReply, { assigned: false }>, idleMs: number): Promise<boolean> {
    switch (reply.reason) {
      case "no_work":
      // It holds as many leases as it declared it runs at once (another process with its key, or leases of its last life).
      case "at_capacity":
        await sleep(idleMs);
        return true;
      case "power_deferred":
        // Said once per stretch of deferrals: a busy machine may defer for a long time.
        if (lastRefusal !== reply.reason) log(`pull deferred: ${reply.message}; asking again every ${(reply.deferMs ?? 5_000) / 1000} s`);
        lastRefusal = reply.reason;
        await sleep(reply.deferMs ?? 5_000);
        return true;
      case "no_model":
        log(`pull refused: ${reply.message}; registering again`);
        registered = undefined;
        await sleep(blockedWaitMs);
        return false;
      case "power_blocked":
      case "not_approved":
      case "blacklisted":
      case "sandbox_required":
        log(`pull refused (${reply.reason}): ${reply.message}; asking again in ${blockedWaitMs / 1000} s`);
        await sleep(blockedWaitMs);
        return true;
    }
  }

  /** Pulls and works until the next model check is due, or until registration must be redone. */
  async function pullUntil(deadline: number) {
    let idleMs = idlePoll.minMs;
    while (!signal.aborted && Date.now() < deadline && registered !== undefined) {
      const asked = Date.now();
      // Never waiting past the next model check: it is due at `deadline`.
      const waitMs = Math.max(0, Math.min(pullWaitMs, deadline - asked));
      const reply = await client.pull({ power: await telemetry(), ...(waitMs > 0 ? { waitMs } : {}) }, { signal });
      if (reply.assigned || reply.reason === "no_work") lastRefusal = undefined;
      if (reply.assigned) {
        if (!(await work(reply.subtask))) return;
        idleMs = idlePoll.minMs;
        continue;
      }
      // The coordinator waited for work on our behalf: ask again at once.
      if (reply.reason === "no_work" && waitMs > 0 && Date.now() - asked >= waitMs / 2) continue;
      if (!(await obey(reply, idleMs))) return;
      if (reply.reason === "no_work") idleMs = Math.min(idlePoll.maxMs, idleMs * 2);
    }
  }

  const loop = (async () => {
    let retryMs = retry.minMs;
    while (!signal.aborted) {
      try {
        const models = await usableModels();
        if (registered === undefined || !sameList(registered, models)) await register(models);
        if (models.length === 0) await sleep(recheckMs);
        else await pullUntil(Date.now() + recheckMs);
        retryMs = retry.minMs;
      } catch (err) {
        if (signal.aborted) break;
        if (forgetsUs(err)) registered = undefined;
        log(`${messageOf(err)}; retrying in ${Math.round(retryMs / 1000)} s`);
        await sleep(jitter(retryMs));
        retryMs = Math.min(retry.maxMs, retryMs * 2);
      }
    }
  })();

  return {
    async stop() {
      stopping.abort();
      clearTimeout(heartbeatTimer);
      await loop;
      await heartbeatInFlight;
      clearTimeout(heartbeatTimer);
    },
  };
}
