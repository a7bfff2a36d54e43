/**
 * The wire contract of the job-queue anchor's small HTTP server (bench/queueAnchorServer.ts) and
 * its clients (bench/queueClients.ts): a job as a worker takes it, its result, and the replies.
 */
import { z } from "zod";

/** What a job asks for: the same shape as a subtask's input in the gateway bench. */
export const JobData = z.object({ input: z.string().max(1_000), language: z.string().max(40) });
export type JobData = z.infer<typeof JobData>;

export const JobResult = z.object({ ok: z.boolean(), output: z.string().max(10_000) });
export type JobResult = z.infer<typeof JobResult>;

export const PullBody = z.object({}).strict();

/** A pull gets one job with the token that holds it (its lease), or no work. */
export const PullReply = z.discriminatedUnion("assigned", [
  z.object({ assigned: z.literal(true), jobId: z.string(), token: z.string(), data: JobData }),
  z.object({ assigned: z.literal(false), reason: z.literal("no_work") }),
]);
export type PullReply = z.infer<typeof PullReply>;

export const ResultBody = z.object({ jobId: z.string().min(1).max(200), token: z.string().min(1).max(200), result: JobResult });
export type ResultBody = z.infer<typeof ResultBody>;

/** Why a result did not complete its job. */
export const ResultRefusal = z.enum(["unknown_job", "not_the_holder", "not_active"]);
export type ResultRefusal = z.infer<typeof ResultRefusal>;

export const ResultReply = z.discriminatedUnion("completed", [
  z.object({ completed: z.literal(true) }),
  z.object({ completed: z.literal(false), reason: ResultRefusal, detail: z.string().optional() }),
]);
export type ResultReply = z.infer<typeof ResultReply>;
