/**
 * The job-queue anchor's rate, kept for the rest of the run: the queue part runs before the
 * gateway part (bench/run.ts), and the gateway prints its rate as a ratio of this one.
 */
import { round } from "./support.js";

export type QueueAnchor =
  | { readonly kind: "measured"; readonly jobsPerS: number; readonly clients: number }
  | { readonly kind: "skipped"; readonly reason: string };

let anchor: QueueAnchor | undefined;

export const recordQueueAnchor = (measured: QueueAnchor): void => {
  anchor = measured;
};

/** The fields a figure carries beside its rate: the BullMQ rate of this run and the ratio to it, or why there is none. */
export function ratioToQueueAnchor(rate: number): { bullmqJobsPerS: number | null; ratioToBullmq: number | null; bullmqIs: string } {
  if (anchor === undefined)
    return { bullmqJobsPerS: null, ratioToBullmq: null, bullmqIs: "not measured: the queue part did not run before this one, or failed (npm run bench -- queue gateway runs both)" };
  if (anchor.kind === "skipped") return { bullmqJobsPerS: null, ratioToBullmq: null, bullmqIs: `not measured: ${anchor.reason}` };
  return {
    bullmqJobsPerS: round(anchor.jobsPerS),
    ratioToBullmq: round(rate / anchor.jobsPerS, 3),
    bullmqIs: `queue_bullmq_jobs_per_s of this run: BullMQ behind a small Fastify server, ${anchor.clients} keep-alive HTTP clients`,
  };
}
