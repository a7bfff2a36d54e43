import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import type { HandledCommand, CommandMeta } from "../../adapters/events/commandHandler.js";
import { AccountId, CreditCommand, creditSubject } from "../../domain/credits/commands.js";
import { Millicredits } from "../../domain/credits/events.js";
import { Cursor, PageLimit, pageOf, Seq } from "../paging.js";

export interface CreditRoutesDeps {
  readonly pool: pg.Pool;
  readonly handleCredit: (subject: string, command: CreditCommand, meta: CommandMeta) => Promise<HandledCommand>;
  readonly now?: () => Date;
}

const Params = z.object({ accountId: AccountId });
const IdempotencyHeaders = z.object({ "idempotency-key": z.uuid().optional() });
const CommandReply = z.object({ eventIds: z.array(z.string()), version: z.number(), duplicate: z.boolean() });
const ErrorReply = z.object({ error: z.string(), message: z.string() });

const Balance = z.object({
  accountId: z.string(),
  available: z.number(),
  held: z.number(),
  earnedTotal: z.number(),
  spentTotal: z.number(),
  version: z.number(),
  unit: z.literal("millicredits"),
});

const HistoryQuery = z
  .object({
    limit: PageLimit(50, 500),
    /** The `next` of the previous page. */
    before: Cursor(Seq, z.uuid()).optional(),
    /** Transactions before this stream sequence (the older form of `before`; a commit's transactions share one). */
    beforeSeq: z.coerce.number().int().min(1).optional(),
  })
  .refine((q) => q.before === undefined || q.beforeSeq === undefined, { message: "give before or beforeSeq, not both", path: ["before"] });

/**
 * Credit accounts on the control plane: balances and history read from the projection, commands
 * appended as signed events. A command's reply carries the stream version it produced.
 */
export const creditRoutes: FastifyPluginAsyncZod<CreditRoutesDeps> = async (app, deps) => {
  const now = deps.now ?? (() => new Date());
  const reply = (r: HandledCommand) => ({ eventIds: r.events.map((e) => e.id), version: r.version, duplicate: r.duplicate });

  app.get(
    "/credits/:accountId/balance",
    { schema: { params: Params, response: { 200: Balance, 404: ErrorReply } } },
    async (req, res) => {
      const row = (
        await deps.pool.query(
          "SELECT account_id, available, held, earned_total, spent_total, last_seq FROM credit_accounts WHERE account_id = $1",
          [req.params.accountId],
        )
      ).rows[0];
      if (!row) return res.code(404).send({ error: "unknown_account", message: `no credit events for ${req.params.accountId} yet` });
      return {
        accountId: row.account_id,
        available: row.available,
        held: row.held,
        earnedTotal: row.earned_total,
        spentTotal: row.spent_total,
        version: row.last_seq,
        unit: "millicredits" as const,
      };
    },
  );

  app.get("/credits/:accountId/history", { schema: { params: Params, querystring: HistoryQuery } }, async (req) => {
    const { limit, before, beforeSeq } = req.query;
    // Newest first by (seq, event_id): one commit's several transactions share a seq, so a page
    // ending inside a commit starts the next one at the same seq, after the last id served.
    const rows = await deps.pool.query<{ event_id: string; seq: string }>(
      `SELECT event_id, seq, type, amount, hold_id, reason, ref, available_after, held_after, signer, occurred_at
       FROM credit_transactions
       WHERE account_id = $1 AND ($2::bigint IS NULL OR seq < $2) AND ($3::bigint IS NULL OR (seq, event_id) < ($3::bigint, $4::uuid))
       ORDER BY seq DESC, event_id DESC LIMIT $5`,
      [req.params.accountId, beforeSeq ?? null, before?.[0] ?? null, before?.[1] ?? null, limit + 1],
    );
    const page = pageOf(rows.rows, limit, (r) => [String(r.seq), r.event_id]);
    return { accountId: req.params.accountId, transactions: page.rows, next: page.next };
  });

  app.post(
    "/credits/:accountId/commands",
    { schema: { params: Params, headers: IdempotencyHeaders, body: CreditCommand, response: { 201: CommandReply } } },
    async (req, res) => {
      const key = req.headers["idempotency-key"];
      const result = await deps.handleCredit(creditSubject(req.params.accountId), req.body, { now: now(), ...(key ? { commandId: key } : {}) });
      return res.code(201).send(reply(result));
    },
  );

  app.post(
    "/credits/:accountId/faucet",
    {
      schema: {
        params: Params,
        headers: IdempotencyHeaders,
        body: z.object({ amount: Millicredits, reason: z.string().min(1).max(200).default("faucet") }),
        response: { 201: CommandReply },
      },
    },
    async (req, res) => {
      const key = req.headers["idempotency-key"];
      const result = await deps.handleCredit(
        creditSubject(req.params.accountId),
        { kind: "earn", amount: req.body.amount, reason: req.body.reason },
        { now: now(), ...(key ? { commandId: key } : {}) },
      );
      return res.code(201).send(reply(result));
    },
  );
};
