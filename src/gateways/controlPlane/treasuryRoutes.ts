import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Economy } from "../../app/economy/economy.js";
import type { PolicyLineView } from "../../app/economy/treasury.js";
import { CustodianSignature, CustodyPolicy, MAX_CUSTODIANS } from "../../domain/economy/custody.js";
import { AggregateId } from "../../domain/events/envelope.js";
import { Hash } from "../../domain/ledger/record.js";
import { Cursor, encodeNext, Micros, PageLimit } from "../paging.js";
import { ErrorReply } from "../replies.js";
import { ADMIN_BODY_ERRORS, ADMIN_ERRORS, iso, Timestamp } from "./economyReplies.js";

const Approvers = z.object({ custodians: z.array(z.string()), threshold: z.number().int() });
const Proposed = z.object({
  policyId: z.string(),
  version: z.number().int(),
  documentHash: Hash,
  /** The exact text each custodian signs with its Ed25519 key (RFC 8785 canonical JSON). */
  documentText: z.string(),
  approvers: Approvers,
  proposedAt: Timestamp,
});

const Line = z.object({
  policyId: z.string(),
  active: z.object({ version: z.number().int(), documentHash: z.string(), policy: CustodyPolicy, activatedAt: Timestamp }).nullable(),
  pending: z.object({ version: z.number().int(), documentHash: z.string(), policy: CustodyPolicy, documentText: z.string(), approvers: Approvers }).nullable(),
  keyRotationDueAt: Timestamp.nullable(),
  versions: z.array(
    z.object({
      version: z.number().int(),
      documentHash: z.string(),
      policy: CustodyPolicy,
      proposedAt: Timestamp,
      proposedBy: z.string(),
      activation: z.object({ activatedAt: Timestamp, activatedBy: z.string(), signatures: z.array(CustodianSignature) }).nullable(),
    }),
  ),
});
const line = (l: PolicyLineView): z.infer<typeof Line> => ({
  policyId: l.policyId,
  active: l.active && { version: l.active.version, documentHash: l.active.documentHash, policy: l.active.policy, activatedAt: l.active.activatedAt },
  pending: l.pending && { version: l.pending.version, documentHash: l.pending.documentHash, policy: l.pending.policy, documentText: l.pending.documentText, approvers: { ...l.pending.approvers, custodians: [...l.pending.approvers.custodians] } },
  keyRotationDueAt: l.keyRotationDueAt && iso(l.keyRotationDueAt),
  versions: l.versions.map((v) => ({
    version: v.version,
    documentHash: v.documentHash,
    policy: v.policy,
    proposedAt: iso(v.proposedAt),
    proposedBy: v.proposedBy,
    activation: v.activation && { activatedAt: iso(v.activation.activatedAt), activatedBy: v.activation.activatedBy, signatures: [...v.activation.signatures] },
  })),
});

const Params = z.object({ policyId: AggregateId });

/**
 * The treasury's custody policies on the control plane. An operator proposes; the custodians
 * sign the proposal's document text with their own keys, offline, and the signatures come in
 * the activation's body: the node signs nothing for them.
 */
export const treasuryRoutes: FastifyPluginAsyncZod<{ economy: Economy }> = async (app, { economy }) => {
  const cases = economy.treasury;

  app.post(
    "/economy/treasury/policies",
    {
      schema: {
        summary: "Puts a custody policy to its line's custodians as the next version; answers the document they sign",
        body: z.object({ policyId: AggregateId, policy: CustodyPolicy }),
        response: { 201: Proposed, 409: ErrorReply, ...ADMIN_BODY_ERRORS },
      },
    },
    async (req, reply) => {
      const p = await cases.propose(req.body.policyId, req.body.policy);
      return reply.code(201).send({ ...p, approvers: { ...p.approvers, custodians: [...p.approvers.custodians] } });
    },
  );

  app.post(
    "/economy/treasury/policies/:policyId/activate",
    {
      schema: {
        summary: "Takes the pending version into force with its custodians' signatures over its document",
        params: Params,
        body: z.object({ signatures: z.array(CustodianSignature).min(1).max(MAX_CUSTODIANS) }),
        response: { 200: z.object({ policyId: z.string(), version: z.number().int(), documentHash: Hash, activatedAt: Timestamp }), 409: ErrorReply, ...ADMIN_BODY_ERRORS },
      },
    },
    async (req) => cases.activate(req.params.policyId, req.body.signatures),
  );

  app.get(
    "/economy/treasury",
    {
      schema: {
        summary: "Every custody policy line: the policy in force, the one pending, and recent versions",
        querystring: z.object({ limit: PageLimit(20, 100), after: Cursor(Micros, AggregateId).optional() }),
        response: { 200: z.object({ votingPolicyId: z.string(), policies: z.array(Line), next: z.string().nullable() }), ...ADMIN_ERRORS },
      },
    },
    async (req) => {
      const page = await cases.lines(req.query);
      return { votingPolicyId: economy.treasury.votingPolicyId, policies: page.items.map(line), next: encodeNext(page) };
    },
  );
};
