import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { systemClock } from "../../app/clock.js";
import type { HandleCommand } from "../../app/commands.js";
import { bleSync } from "../../app/credits/bleSync.js";
import type { CreditCommand } from "../../domain/credits/commands.js";
import type { EventStore } from "../../adapters/nats/eventStore.js";
import type { NonceStore } from "../../adapters/security/signedRequests.js";
import type { Db } from "../../projections/keyset.js";
import { BleSyncBody, BleSyncReply } from "../../schemas/coordinatorApi.js";
import { AUTH_ERRORS, BODY_ERRORS, ErrorReply, ROUTE_ERRORS } from "../replies.js";
import { signedAgentRequest } from "./signedAgentRequest.js";

export interface BleSyncRoutesDeps {
  readonly pool: Db;
  readonly nonces: NonceStore;
  readonly store: Pick<EventStore, "readAggregate">;
  readonly handleCredit: HandleCommand<CreditCommand>;
  readonly now?: () => Date;
}

const STATUS = { bad_signature: 400, unknown_device: 403, insufficient_credits: 402, repeated_transaction: 400, self_payment: 400 } as const;

/**
 * POST /credits/ble-sync: a device (any agent, signing the request as for /pull) hands in the
 * credit transactions it made offline. Refused whole (nothing appended) when one does not hold.
 */
export const bleSyncRoutes: FastifyPluginAsyncZod<BleSyncRoutesDeps> = async (app, deps) => {
  const sync = bleSync({ ...deps, now: deps.now ?? systemClock });
  app.addHook("preValidation", signedAgentRequest(deps.nonces));
  app.post(
    "/credits/ble-sync",
    {
      schema: {
        summary: "Sync offline BLE credit transactions (format: schemas/http/credits-ble-sync.schema.json)",
        body: BleSyncBody,
        response: { 200: BleSyncReply, 402: ErrorReply, 403: ErrorReply, ...ROUTE_ERRORS, ...BODY_ERRORS, ...AUTH_ERRORS },
      },
    },
    async (req, reply) => {
      const answer = await sync(req.body.transactions);
      if ("refused" in answer) return reply.code(STATUS[answer.refused]).send({ error: answer.refused, message: answer.message });
      return answer;
    },
  );
};
