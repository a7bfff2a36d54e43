/**
 * The small Fastify server a user would put in front of a job queue: POST /pull takes the next
 * job, POST /result completes it, GET /health is the raw HTTP limit. Zod schemas on the routes, as
 * EdgeCoder's gateways declare theirs, and nothing else: no signing, no logging, no metrics.
 */
import Fastify from "fastify";
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import type { JobSource } from "./jobSources.js";
import { PullBody, PullReply, ResultBody, ResultReply } from "./queueContract.js";

export interface AnchorServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function anchorServer(source: JobSource): Promise<AnchorServer> {
  const app = Fastify({ logger: false }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  app.get("/health", { schema: { response: { 200: z.object({ ok: z.literal(true) }) } } }, async () => ({ ok: true as const }));

  app.post("/pull", { schema: { body: PullBody, response: { 200: PullReply } } }, async (): Promise<PullReply> => {
    const job = await source.take();
    return job ? { assigned: true, ...job } : { assigned: false, reason: "no_work" };
  });

  app.post("/result", { schema: { body: ResultBody, response: { 200: ResultReply, 409: ResultReply } } }, async (req, reply) => {
    const outcome = await source.complete(req.body.jobId, req.body.token, req.body.result);
    if (outcome.ok) return { completed: true as const };
    return reply.code(409).send({ completed: false, reason: outcome.reason, ...(outcome.detail === undefined ? {} : { detail: outcome.detail }) });
  });

  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  return { url, close: () => app.close() };
}
