import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Economy } from "../../app/economy/economy.js";
import { AccountId } from "../../domain/credits/commands.js";
import { AggregateId } from "../../domain/events/envelope.js";
import { PaymentProvider } from "../../domain/economy/intentEvents.js";
import { Sats } from "../../domain/economy/units.js";
import { InvoiceState } from "../../adapters/lightning/provider.js";
import type { IntentView } from "../../projections/economy/queries.js";
import { ErrorReply } from "../replies.js";
import { ADMIN_BODY_ERRORS, ADMIN_ERRORS, iso, refused, Timestamp } from "./economyReplies.js";

/** What every reply about an intent of the mock provider says, beside its `development: true`. */
export const DEVELOPMENT_NOTICE = "development only: made by the mock Lightning provider, which takes no money; this intent is worth nothing";

const Intent = z.object({
  intentId: z.string(),
  status: z.enum(["open", "settled", "expired"]),
  accountId: z.string(),
  amountSats: z.number().int(),
  provider: PaymentProvider,
  /** True for the mock provider's intents: worth nothing, never to be taken for a payment. */
  development: z.boolean(),
  /** Set for a development intent, saying so in words. */
  notice: z.string().nullable(),
  bolt11: z.string(),
  paymentHash: z.string(),
  /** The rate quoted when the invoice was made: sats one credit costs. */
  satsPerCredit: z.number().int(),
  createdAt: Timestamp,
  expiresAt: Timestamp,
  settlement: z
    .object({
      amountPaidSats: z.number().int(),
      mintedMillicredits: z.number().int(),
      feeMillicredits: z.number().int(),
      paidAt: Timestamp,
      settledAt: Timestamp,
    })
    .nullable(),
  /** The coordinator whose provider made the invoice, once the projection shows it. */
  createdBy: z.string().nullable(),
});
const intent = (v: IntentView): z.infer<typeof Intent> => ({
  intentId: v.intentId,
  status: v.status,
  accountId: v.accountId,
  amountSats: v.amountSats,
  provider: v.provider,
  development: v.development,
  notice: v.development ? DEVELOPMENT_NOTICE : null,
  bolt11: v.bolt11,
  paymentHash: v.paymentHash,
  satsPerCredit: v.satsPerCredit,
  createdAt: iso(v.createdAt),
  expiresAt: iso(v.expiresAt),
  settlement: v.settlement && { ...v.settlement, paidAt: iso(v.settlement.paidAt), settledAt: iso(v.settlement.settledAt) },
  createdBy: v.createdBy,
});

const Params = z.object({ intentId: AggregateId });

/**
 * A confirmation asks the provider and nothing else: a body naming a preimage, a payment
 * reference or anything at all is refused, so no caller can believe it counted.
 */
const ConfirmBody = z.object({}).strict().nullish();

/** Lightning top-ups on the control plane: an invoice for an account, its state, and its confirmation by the provider. */
export const paymentRoutes: FastifyPluginAsyncZod<{ economy: Economy }> = async (app, { economy }) => {
  const cases = economy.payments;

  app.post(
    "/economy/payments/intents",
    {
      schema: {
        summary: "A Lightning invoice that buys credits for an account",
        body: z.object({ accountId: AccountId, amountSats: Sats }).strict(),
        response: { 201: Intent, 409: ErrorReply, 502: ErrorReply, ...ADMIN_BODY_ERRORS },
      },
    },
    async (req, reply) => {
      const answer = await cases.create(req.body);
      if ("refused" in answer) return refused(reply, answer);
      return reply.code(201).send(intent(answer));
    },
  );

  app.get("/economy/payments/intents/:intentId", { schema: { summary: "A payment intent as projected", params: Params, response: { 200: Intent, 404: ErrorReply, ...ADMIN_ERRORS } } }, async (req, reply) => {
    const answer = await cases.get(req.params.intentId);
    if ("refused" in answer) return refused(reply, answer);
    return intent(answer);
  });

  app.post(
    "/economy/payments/intents/:intentId/confirm",
    {
      schema: {
        summary: "Asks the provider whether the invoice is paid; a settled intent mints its credits once",
        params: Params,
        body: ConfirmBody,
        response: {
          200: z.object({ intent: Intent, provider: z.object({ said: InvoiceState, label: z.string() }) }),
          404: ErrorReply,
          409: ErrorReply,
          502: ErrorReply,
          ...ADMIN_BODY_ERRORS,
        },
      },
    },
    async (req, reply) => {
      const answer = await cases.confirm(req.params.intentId);
      if ("refused" in answer) return refused(reply, answer);
      return { intent: intent(answer.intent), provider: { said: answer.provider, label: economy.lightning.label } };
    },
  );
};
