/**
 * The queue anchor's clients, on a worker thread of the bench process as the gateway bench's
 * simulated workers are: `clients` keep-alive HTTP loops (node's fetch) that pull a job, answer it
 * at once and post its result, until the run's jobs are all completed.
 */
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { healthLoops, latency, sleep, type Latency } from "./httpLoops.js";
import { PullReply, ResultReply, type ResultBody } from "./queueContract.js";
import { answerRequests } from "./thread.js";

export interface QueueClientsData {
  readonly url: string;
  readonly clients: number;
}

export type QueueClientsRequest =
  | { readonly kind: "health"; readonly ms: number }
  /** Pull and complete until `jobs` results were accepted (or `deadlineMs` passed). */
  | { readonly kind: "cycle"; readonly jobs: number; readonly noWorkPauseMs: number; readonly deadlineMs: number };

export interface JobsRun {
  /** The ids of every job whose result was accepted, once per acceptance: duplicates show here. */
  readonly completedIds: readonly string[];
  /** From the first pull to the last result accepted. */
  readonly ms: number;
  readonly allPulls: Latency;
  readonly assignedPulls: Latency;
  readonly noWorkPulls: number;
  /** The share of the run this thread's event loop was busy: the clients' own cost. */
  readonly clientsLoopBusy: number;
  readonly errors: readonly string[];
}

const postJson = async (url: string, body: unknown): Promise<unknown> => {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const json: unknown = await res.json();
  if (res.status !== 200 && res.status !== 409) throw new Error(`POST ${new URL(url).pathname}: ${res.status} ${JSON.stringify(json)}`);
  return json;
};

async function cycle(url: string, clients: number, req: Extract<QueueClientsRequest, { kind: "cycle" }>): Promise<JobsRun> {
  const pulls: number[] = [];
  const assigned: number[] = [];
  const completedIds: string[] = [];
  const errors: string[] = [];
  let noWorkPulls = 0;
  const busyBefore = performance.eventLoopUtilization();
  const started = performance.now();
  let lastCompletedAt = started;
  const deadline = started + req.deadlineMs;
  const running = () => completedIds.length < req.jobs && performance.now() < deadline && errors.length < 50;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (running()) {
        try {
          const t0 = performance.now();
          const pulled = PullReply.parse(await postJson(`${url}/pull`, {}));
          const took = performance.now() - t0;
          pulls.push(took);
          if (!pulled.assigned) {
            noWorkPulls++;
            await sleep(req.noWorkPauseMs);
            continue;
          }
          assigned.push(took);
          const body: ResultBody = { jobId: pulled.jobId, token: pulled.token, result: { ok: true, output: "1\n" } };
          const answered = ResultReply.parse(await postJson(`${url}/result`, body));
          if (answered.completed) {
            completedIds.push(pulled.jobId);
            lastCompletedAt = performance.now();
          } else errors.push(`result for ${pulled.jobId} refused: ${answered.reason} ${answered.detail ?? ""}`);
        } catch (err) {
          errors.push(String(err));
        }
      }
    }),
  );
  const clientsLoopBusy = performance.eventLoopUtilization(busyBefore).utilization;
  return { completedIds, ms: lastCompletedAt - started, allPulls: latency(pulls), assignedPulls: latency(assigned), noWorkPulls, clientsLoopBusy, errors };
}

if (!isMainThread && parentPort) {
  const data = workerData as QueueClientsData;
  answerRequests<QueueClientsRequest>(parentPort, async (req) => {
    switch (req.kind) {
      case "health":
        return healthLoops(data.url, data.clients, req.ms);
      case "cycle":
        return cycle(data.url, data.clients, req);
    }
  });
}
