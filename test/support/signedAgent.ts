import type { Ed25519Signer } from "../../src/adapters/crypto/ed25519.js";
import { signRequest } from "../../src/adapters/security/signedRequests.js";
import { replyOf, type Reply } from "./appendedEvents.js";

/** A malicious or honest worker's own client: POSTs a body signed by its key to a coordinator. */
export async function signedPost(coordinatorUrl: string, signer: Ed25519Signer, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const bytes = JSON.stringify(body);
  const res = await fetch(new URL(path, coordinatorUrl), {
    method: "POST",
    headers: { "content-type": "application/json", ...signRequest(signer, "POST", path, bytes), ...headers },
    body: bytes,
  });
  return replyOf(res);
}

/** Calls the control plane with the admin token. */
export async function controlPlane(url: string, token: string, method: string, path: string, body?: unknown): Promise<Reply> {
  const res = await fetch(new URL(path, url), {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return replyOf(res);
}
