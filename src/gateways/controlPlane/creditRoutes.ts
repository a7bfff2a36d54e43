import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { systemClock } from "../../app/clock.js";
import type { HandleCommand } from "../../app/commands.js";
import { credits } from "../../app/credits/credits.js";
import { AccountId, CreditCommand } from "../../domain/credits/commands.js";
import { Millicredits } from "../../domain/credits/events.js";
import type { CreditTransaction } from "../../projections/credits/queries.js";
import type { Db } from "../../projections/keyset.js";
import { Cursor, encodeNext, PageLimit, Seq } from "../paging.js";
import { AUTH_ERRORS, BODY_ERRORS, ErrorReply, ROUTE_ERRORS } from "../replies.js";

export interface CreditRoutesDeps {
  readonly pool: Db;
  readonly handleCredit: HandleCommand<CreditCommand>;
  readonly now?: () => Date;
  /** In production no credits come out of nothing: the faucet and a bare earn are refused (corrections are adjustments). */
  readonly environment?: "development" | "production";
}

const Params = z.object({ accountId: AccountId });
const IdempotencyHeaders = z.object({ "idempotency-key": z.uuid().optional() });
const CommandReply = z.object({ eventIds: z.array(z.string()), version: z.number(), duplicate: z.boolean() });

const Balance = z.object({
  accountId: z.string(),
  available: z.number(),
  held: z.number(),
  earnedTotal: z.number(),
  spentTotal: z.number(),
  version: z.number(),
  unit: z.literal("millicredits"),
});

/** One applied credit event and the balances it left behind, in millicredits. */
const Transaction = z.object({
  eventId: z.string(),
  /** The stream sequence of its commit; a commit's several transactions share one. */
  seq: z.number(),
  type: z.string(),
  amount: z.number(),
  holdId: z.string().nullable(),
  reason: z.string().nullable(),
  ref: z.string().nullable(),
  availableAfter: z.number(),
  heldAfter: z.number(),
  /** The node key that signed the event. */
  signer: z.string(),
  occurredAt: z.string(),
  /** The event that made it happen (a subtask's result, a task's end), on its own stream. */
  cause: z.object({ subject: z.string(), eventId: z.string() }).nullable(),
});
const History = z.object({ accountId: z.string(), transactions: z.array(Transaction), next: z.string().nullable() });

const transaction = (t: CreditTransaction): z.infer<typeof Transaction> => ({ ...t, occurredAt: t.occurredAt.toISOString() });

const HistoryQuery = z
  .object({
    limit: PageLimit(50, 500),
    /** The `next` of the previous page. */
    before: Cursor(Seq, z.uuid()).optional(),
    /** Transactions before this stream sequence (the older form of `before`; a commit's transactions share one). */
    beforeSeq: z.coerce.number().int().min(1).optional(),
  })
  .refine((q) => q.before === undefined || q.beforeSeq === undefined, { message: "give before or beforeSeq, not both", path: ["before"] });

const ADMIN_ERRORS = { ...ROUTE_ERRORS, ...AUTH_ERRORS };
const COMMAND_ERRORS = { 403: ErrorReply.describe("development_only: refused on a production node (EC_ENV=production)"), 409: ErrorReply, ...ADMIN_ERRORS, ...BODY_ERRORS };
const DEVELOPMENT_ONLY = {
  error: "development_only",
  message: "a production node (EC_ENV=production) mints no credits by hand: credits come from work, payments and issuance; correct a balance with an adjust command, which says so",
};

/** Credit accounts on the control plane (credits). A command's reply carries the stream version it produced. */
export const creditRoutes: FastifyPluginAsyncZod<CreditRoutesDeps> = async (app, deps) => {
  const cases = credits({ ...deps, now: deps.now ?? systemClock });
  const production = deps.environment === "production";

  app.get("/credits/:accountId/balance", { schema: { params: Params, response: { 200: Balance, 404: ErrorReply, ...ADMIN_ERRORS } } }, async (req, reply) => {
    const answer = await cases.balance(req.params.accountId);
    if ("refused" in answer) return reply.code(404).send({ error: answer.refused, message: answer.message });
    return { ...answer, unit: "millicredits" as const };
  });

  app.get("/credits/:accountId/history", { schema: { params: Params, querystring: HistoryQuery, response: { 200: History, ...ADMIN_ERRORS } } }, async (req) => {
    const page = await cases.history(req.params.accountId, req.query);
    return { accountId: req.params.accountId, transactions: page.items.map(transaction), next: encodeNext(page) };
  });

  app.post(
    "/credits/:accountId/commands",
    { schema: { params: Params, headers: IdempotencyHeaders, body: CreditCommand, response: { 201: CommandReply, ...COMMAND_ERRORS } } },
    async (req, reply) => {
      if (production && req.body.kind === "earn") return reply.code(403).send(DEVELOPMENT_ONLY);
      return reply.code(201).send(await cases.command(req.params.accountId, req.body, req.headers["idempotency-key"]));
    },
  );

  app.post(
    "/credits/:accountId/faucet",
    {
      schema: {
        params: Params,
        headers: IdempotencyHeaders,
        body: z.object({ amount: Millicredits, reason: z.string().min(1).max(200).default("faucet") }),
        response: { 201: CommandReply, ...COMMAND_ERRORS },
      },
    },
    async (req, reply) => {
      if (production) return reply.code(403).send(DEVELOPMENT_ONLY);
      return reply.code(201).send(await cases.faucet(req.params.accountId, req.body, req.headers["idempotency-key"]));
    },
  );
};
