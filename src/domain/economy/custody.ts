import { ed25519 } from "@noble/curves/ed25519.js";
import { hash } from "node:crypto";
import { z } from "zod";
import type { RuleBreak } from "../decider.js";
import { canonicalJson } from "../events/canonical.js";
import { PublicKey, Signature } from "../events/envelope.js";
import { CoordinatorId } from "./units.js";

export const MAX_CUSTODIANS = 20;
export const MAX_APPROVED_COORDINATORS = 100;

/**
 * Who holds the treasury and who may close issuance epochs. Custodians are Ed25519 public keys
 * in the project's one key encoding (unpadded base64url, as every envelope's signer), so a
 * custodian's key is written and compared the same way everywhere; the threshold is how many of
 * them must sign the next change.
 */
export const CustodyPolicy = z.object({
  quorumThreshold: z.number().int().min(1).max(MAX_CUSTODIANS),
  custodians: z.array(PublicKey).min(1).max(MAX_CUSTODIANS),
  approvedCoordinators: z.array(CoordinatorId).min(1).max(MAX_APPROVED_COORDINATORS),
  /** How often custodians are to rotate their keys (a new policy naming the new keys). */
  keyRotationDays: z.number().int().min(1).max(3_650),
});
export type CustodyPolicy = z.infer<typeof CustodyPolicy>;

export const CustodianSignature = z.object({ custodian: PublicKey, signature: Signature });
export type CustodianSignature = z.infer<typeof CustodianSignature>;

const byCode = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The policy with its lists in one order, so the same policy is always the same document. */
export function normalizedPolicy(policy: CustodyPolicy): CustodyPolicy {
  return { ...policy, custodians: [...policy.custodians].sort(byCode), approvedCoordinators: [...policy.approvedCoordinators].sort(byCode) };
}

/** What is wrong with a policy as a policy, whatever its signatures. */
export function policyProblem(policy: CustodyPolicy): RuleBreak | undefined {
  if (new Set(policy.custodians).size !== policy.custodians.length) return { code: "invalid_policy", message: "a custodian is listed twice" };
  if (new Set(policy.approvedCoordinators).size !== policy.approvedCoordinators.length) return { code: "invalid_policy", message: "a coordinator is listed twice" };
  return policy.quorumThreshold <= policy.custodians.length
    ? undefined
    : { code: "invalid_policy", message: `a threshold of ${policy.quorumThreshold} cannot be met by ${policy.custodians.length} custodians` };
}

/** Tells a custody policy document from any other signed text (an event, another protocol's message). */
export const POLICY_DOCUMENT_KIND = "edgecoder.treasury.policy";

/**
 * The text custodians sign: RFC 8785 canonical JSON of the policy with what it is, which policy
 * line and which version. The id and version are in it, so a signature over one proposal
 * cannot activate another: not a later version with the same content, not another policy's.
 */
export function policyDocumentText(policyId: string, version: number, policy: CustodyPolicy): string {
  return canonicalJson({ kind: POLICY_DOCUMENT_KIND, policyId, version, policy });
}

export function policyDocumentHash(policyId: string, version: number, policy: CustodyPolicy): string {
  return hash("sha256", policyDocumentText(policyId, version, policy), "hex");
}

const utf8 = new TextEncoder();

/**
 * Whether `signature` is the custodian's Ed25519 signature over the document text. Strict
 * RFC 8032 decoding (zip215 off), as node:crypto verifies the project's event signatures, so no
 * signature counts here that the rest of the system would refuse.
 */
export function custodianSigned(documentText: string, { custodian, signature }: CustodianSignature): boolean {
  try {
    return ed25519.verify(Buffer.from(signature, "base64url"), utf8.encode(documentText), Buffer.from(custodian, "base64url"), { zip215: false });
  } catch {
    return false;
  }
}

/**
 * Why these signatures do not approve the document, or undefined: each must be a valid
 * signature over this very text by a distinct member of the signing set, and there must be at
 * least `threshold` of them. One bad entry refuses the whole approval, so what is stored lists
 * only signatures that hold.
 */
export function approvalProblem(documentText: string, signatures: readonly CustodianSignature[], signingSet: readonly string[], threshold: number): RuleBreak | undefined {
  const members = new Set(signingSet);
  const seen = new Set<string>();
  for (const s of signatures) {
    if (!members.has(s.custodian)) return { code: "not_custodian", message: `${s.custodian} is not a custodian of the policy that must approve` };
    if (seen.has(s.custodian)) return { code: "duplicate_signature", message: `custodian ${s.custodian} signed twice` };
    seen.add(s.custodian);
    if (!custodianSigned(documentText, s)) return { code: "bad_signature", message: `custodian ${s.custodian}'s signature is not over this policy document` };
  }
  return seen.size >= threshold ? undefined : { code: "too_few_signatures", message: `${seen.size} custodian signatures, ${threshold} needed` };
}
