import { z } from "zod";
import { AggregateId } from "../events/envelope.js";
import { eventRegistry, eventSpec, type DraftOf } from "../events/registry.js";
import { Hash } from "../ledger/record.js";
import { CustodianSignature, CustodyPolicy, MAX_CUSTODIANS } from "./custody.js";
import { Instant } from "./units.js";

const Version = z.number().int().min(1);

/** A policy put to the custodians: the document they sign is policyDocumentText(policyId, version, policy). */
export const policyProposed = eventSpec(
  "policy.proposed",
  1,
  z.object({ policyId: AggregateId, version: Version, policy: CustodyPolicy, documentHash: Hash, proposedAt: Instant }),
);
/** The proposal took effect: the custodians' signatures that approved it, each over its document. */
export const policyActivated = eventSpec(
  "policy.activated",
  1,
  z.object({ version: Version, documentHash: Hash, signatures: z.array(CustodianSignature).min(1).max(MAX_CUSTODIANS), activatedAt: Instant }),
);

export const policyEventSpecs = [policyProposed, policyActivated] as const;
export const policyEvents = eventRegistry(...policyEventSpecs);
export type PolicyEvent = DraftOf<(typeof policyEventSpecs)[number]>;
