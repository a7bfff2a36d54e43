import { request } from "node:http";
import type { Ed25519Signer } from "../../src/adapters/crypto/ed25519.js";
import { signRequest } from "../../src/adapters/security/signedRequests.js";
import type { Reply } from "./appendedEvents.js";

export interface SignedReply extends Reply {
  readonly headers: Record<string, string | string[] | undefined>;
}

/**
 * A malicious or honest worker's own client: POSTs a body signed by its key to a coordinator.
 * `from` picks the source address (any of 127.0.0.0/8 reaches a coordinator on 127.0.0.1), so a
 * test can be several machines, or one that is not this machine's loopback (127.0.0.1).
 */
export function signedPost(coordinatorUrl: string, signer: Ed25519Signer, path: string, body: unknown, opts: { from?: string } = {}): Promise<SignedReply> {
  const bytes = Buffer.from(JSON.stringify(body));
  const url = new URL(path, coordinatorUrl);
  const headers = { "content-type": "application/json", "content-length": String(bytes.length), ...signRequest(signer, "POST", path, bytes) };
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method: "POST", headers, ...(opts.from ? { localAddress: opts.from } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let parsed: Reply["body"];
        try {
          parsed = JSON.parse(text) as Reply["body"];
        } catch {
          parsed = { unparsed: text };
        }
        resolve({ status: res.statusCode ?? 0, body: parsed, headers: res.headers });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(bytes);
  });
}

/** Calls the control plane with the admin token. */
export async function controlPlane(url: string, token: string, method: string, path: string, body?: unknown): Promise<Reply> {
  const res = await fetch(new URL(path, url), {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as Reply["body"] };
  } catch {
    return { status: res.status, body: { unparsed: text } };
  }
}
