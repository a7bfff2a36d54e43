/**
 * Simulated workers for bench/gateway.ts, on a worker thread of the bench process: their
 * signing, HTTP client and JSON work runs beside the node, not on its event loop, as real workers
 * on other machines would. Each has its own Ed25519 key and signs every request (through the
 * worker's own coordinator client). Their code is trivial: an assignment is answered at once with
 * ok=true, no model and no sandbox.
 */
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { generatePrivateKeyPem, signerFromPrivateKeyPem } from "../src/adapters/crypto/ed25519.js";
import type { PowerTelemetry } from "../src/domain/agents/powerPolicy.js";
import { coordinatorClient, type CoordinatorClient } from "../src/worker/coordinatorClient.js";
import { healthLoops, latency, sleep, type Latency } from "./httpLoops.js";
import { answerRequests } from "./thread.js";

export interface SimulatedWorkersData {
  readonly coordinatorUrl: string;
  readonly workers: number;
  readonly model: string;
}

export type SimulatedWorkersRequest =
  /** Raw limit: the same clients, unsigned GET /health of the same server, for `ms`. */
  | { readonly kind: "health"; readonly ms: number }
  /** Registers every worker; answers their agent ids. */
  | { readonly kind: "register" }
  /** Pull and report until `subtasks` results were accepted as completed (or `deadlineMs` passed). */
  | { readonly kind: "cycle"; readonly subtasks: number; readonly noWorkPauseMs: number; readonly deadlineMs: number }
  /**
   * Idle workers for `ms`: each pulls with `waitMs` (long polling; 0: none, then it pauses
   * `noWorkPauseMs` after a no_work, as a worker without long polling backs off), answers what
   * it is handed at once, and notes when (Date.now()) it was handed it.
   */
  | { readonly kind: "wait"; readonly ms: number; readonly waitMs: number; readonly noWorkPauseMs: number };

export interface WaitRun {
  readonly pulls: number;
  readonly handed: readonly { readonly subtaskId: string; readonly at: number }[];
  readonly errors: readonly string[];
}

export interface CycleRun {
  readonly completed: number;
  /** From the first pull to the last result accepted as completed. */
  readonly ms: number;
  readonly allPulls: Latency;
  readonly assignedPulls: Latency;
  /** Pulls answered without work, by reason. */
  readonly unassigned: Record<string, number>;
  readonly errors: readonly string[];
}

const desktop: PowerTelemetry = { deviceType: "desktop", cpuLoadPct: 10, thermalState: "nominal", onExternalPower: true, lowPowerMode: false, batteryStopPct: 20 };
async function cycle(clients: readonly CoordinatorClient[], req: Extract<SimulatedWorkersRequest, { kind: "cycle" }>): Promise<CycleRun> {
  const pulls: number[] = [];
  const assigned: number[] = [];
  const unassigned: Record<string, number> = {};
  const errors: string[] = [];
  let completed = 0;
  const started = performance.now();
  let lastCompletedAt = started;
  const deadline = started + req.deadlineMs;
  const running = () => completed < req.subtasks && performance.now() < deadline && errors.length < 50;
  await Promise.all(
    clients.map(async (client) => {
      while (running()) {
        try {
          const t0 = performance.now();
          const reply = await client.pull({ power: desktop });
          const took = performance.now() - t0;
          pulls.push(took);
          if (!reply.assigned) {
            unassigned[reply.reason] = (unassigned[reply.reason] ?? 0) + 1;
            await sleep(req.noWorkPauseMs);
            continue;
          }
          assigned.push(took);
          const { subtaskId, leaseId } = reply.subtask;
          const result = await client.result({ subtaskId, leaseId, ok: true, code: "print(1)", output: "1\n", stderr: "", durationMs: 1 });
          // Taken at once, or held until the coordinator has run the code (it counts once checked).
          if (result.events.includes("subtask.completed") || result.events.includes("subtask.reported")) {
            completed++;
            lastCompletedAt = performance.now();
          } else errors.push(`result for ${subtaskId} caused ${result.events.join(", ") || "nothing"}`);
        } catch (err) {
          errors.push(String(err));
        }
      }
    }),
  );
  return { completed, ms: lastCompletedAt - started, allPulls: latency(pulls), assignedPulls: latency(assigned), unassigned, errors };
}

async function wait(clients: readonly CoordinatorClient[], req: Extract<SimulatedWorkersRequest, { kind: "wait" }>): Promise<WaitRun> {
  const end = performance.now() + req.ms;
  const handed: { subtaskId: string; at: number }[] = [];
  const errors: string[] = [];
  let pulls = 0;
  await Promise.all(
    clients.map(async (client) => {
      while (performance.now() < end && errors.length < 50) {
        try {
          const waitMs = Math.max(0, Math.min(req.waitMs, end - performance.now()));
          const reply = await client.pull({ power: desktop, ...(waitMs > 0 ? { waitMs: Math.floor(waitMs) } : {}) });
          pulls++;
          if (!reply.assigned) {
            if (req.waitMs === 0) await sleep(req.noWorkPauseMs);
            continue;
          }
          handed.push({ subtaskId: reply.subtask.subtaskId, at: Date.now() });
          const { subtaskId, leaseId } = reply.subtask;
          await client.result({ subtaskId, leaseId, ok: true, code: "print(1)", output: "1\n", stderr: "", durationMs: 1 });
        } catch (err) {
          errors.push(String(err));
        }
      }
    }),
  );
  return { pulls, handed, errors };
}

if (!isMainThread && parentPort) {
  const data = workerData as SimulatedWorkersData;
  const clients = Array.from({ length: data.workers }, () =>
    coordinatorClient({ url: data.coordinatorUrl, signer: signerFromPrivateKeyPem(generatePrivateKeyPem()) }),
  );
  answerRequests<SimulatedWorkersRequest>(parentPort, async (req) => {
    switch (req.kind) {
      case "health":
        return healthLoops(data.coordinatorUrl, data.workers, req.ms);
      case "register":
        return Promise.all(
          clients.map((c, i) =>
            c.register({ name: `bench-${i}`, mode: "worker", capabilities: { models: [data.model], languages: ["python", "javascript"], sandbox: "bwrap" }, deviceType: desktop.deviceType }),
          ),
        ).then((replies) => replies.map((r) => r.agentId));
      case "cycle":
        return cycle(clients, req);
      case "wait":
        return wait(clients, req);
    }
  });
}
