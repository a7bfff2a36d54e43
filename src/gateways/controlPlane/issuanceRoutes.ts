import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Economy } from "../../app/economy/economy.js";
import { EpochId } from "../../domain/economy/epochId.js";
import { Allocation, EpochRecord } from "../../domain/economy/epochRecord.js";
import { Hash } from "../../domain/ledger/record.js";
import type { EpochSummary } from "../../projections/economy/queries.js";
import { Cursor, encodeNext, PageLimit } from "../paging.js";
import { ErrorReply } from "../replies.js";
import { ADMIN_BODY_ERRORS, ADMIN_ERRORS, iso, refused, Timestamp } from "./economyReplies.js";

const Epoch = z.object({
  epochId: z.string(),
  status: z.enum(["open", "final"]),
  voteCount: z.number().int(),
  recordCount: z.number().int(),
  finalRecordHash: z.string().nullable(),
  finalSigners: z.array(z.string()).nullable(),
  issuedMillicredits: z.number().int().nullable(),
  loadIndexMicros: z.number().int().nullable(),
  updatedAt: Timestamp,
});
const epoch = (e: EpochSummary): z.infer<typeof Epoch> => ({
  epochId: e.epochId,
  status: e.status,
  voteCount: e.voteCount,
  recordCount: e.recordCount,
  finalRecordHash: e.finalRecordHash,
  finalSigners: e.finalSigners && [...e.finalSigners],
  issuedMillicredits: e.issuedMillicredits,
  loadIndexMicros: e.loadIndexMicros,
  updatedAt: iso(e.updatedAt),
});

const Current = z.object({
  running: z.object({ epochId: z.string(), startsAt: Timestamp, endsAt: Timestamp }),
  latestFinal: Epoch.extend({ record: EpochRecord, allocations: z.array(Allocation) }).nullable(),
});

const Quorum = z.object({
  epoch: Epoch,
  /** Against the policy in force now; null when none is. */
  quorum: z.object({ approved: z.number().int(), needed: z.number().int() }).nullable(),
  /** Each distinct record voted for and its signers, most signers first: disagreement is shown, never resolved. */
  records: z.array(z.object({ recordHash: z.string(), signers: z.array(z.string()), firstVotedAt: Timestamp, record: EpochRecord })),
});

const Vote = z.object({
  epochId: z.string(),
  coordinatorId: z.string(),
  recordHash: Hash,
  record: EpochRecord,
  final: z.boolean(),
  events: z.array(z.string()),
});

/** Hourly issuance on the control plane: the running epoch, final ones, each epoch's tally, and this node's vote. */
export const issuanceRoutes: FastifyPluginAsyncZod<{ economy: Economy }> = async (app, { economy }) => {
  const cases = economy.issuance;

  app.get("/economy/issuance/current", { schema: { summary: "The running epoch, and the newest final one with its allocations", response: { 200: Current, ...ADMIN_ERRORS } } }, async () => {
    const c = await cases.current();
    return {
      running: { epochId: c.running.epochId, startsAt: iso(c.running.startsAt), endsAt: iso(c.running.endsAt) },
      latestFinal: c.latestFinal && { ...epoch(c.latestFinal), record: c.latestFinal.record, allocations: c.latestFinal.allocations },
    };
  });

  app.get(
    "/economy/issuance/history",
    {
      schema: {
        summary: "Final epochs, newest first",
        querystring: z.object({ limit: PageLimit(24, 200), before: Cursor(EpochId, z.string().max(64)).optional() }),
        response: { 200: z.object({ epochs: z.array(Epoch), next: z.string().nullable() }), ...ADMIN_ERRORS },
      },
    },
    async (req) => {
      const page = await cases.history(req.query);
      return { epochs: page.items.map(epoch), next: encodeNext(page) };
    },
  );

  app.get(
    "/economy/issuance/quorum/:epochId",
    { schema: { summary: "An epoch's tally: each record voted for and its signers", params: z.object({ epochId: EpochId }), response: { 200: Quorum, 404: ErrorReply, ...ADMIN_ERRORS } } },
    async (req, reply) => {
      const answer = await cases.quorum(req.params.epochId);
      if ("refused" in answer) return refused(reply, answer);
      return { epoch: epoch(answer.epoch), quorum: answer.quorum, records: answer.records.map((r) => ({ ...r, signers: [...r.signers], firstVotedAt: iso(r.firstVotedAt) })) };
    },
  );

  app.post(
    "/economy/issuance/quorum/vote",
    {
      schema: {
        summary: "This node computes the epoch's record and votes for it, signed with its key (the newest ended epoch unless named)",
        body: z.object({ epochId: EpochId.optional() }).nullish(),
        response: { 201: Vote, 409: ErrorReply, ...ADMIN_BODY_ERRORS },
      },
    },
    async (req, reply) => {
      const answer = await cases.vote(req.body?.epochId);
      if ("refused" in answer) return refused(reply, answer);
      return reply.code(201).send({ ...answer, events: [...answer.events] });
    },
  );
};
