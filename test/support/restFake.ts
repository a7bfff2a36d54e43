import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";

/**
 * The HTTP plumbing the fake Lightning nodes share: a server on 127.0.0.1 (plain or TLS), every
 * request recorded, and a way to make the next reply misbehave (a raw reply of the test's
 * choosing, or no reply at all) so a client's defences can be tested against a real socket.
 */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage["headers"];
  /** The body parsed as JSON; undefined when empty or not JSON. */
  readonly body: unknown;
}

export interface FakeReply {
  readonly status: number;
  readonly body: string | Buffer;
  readonly headers?: Readonly<Record<string, string>>;
}

/** stall: headers never come; hangup: the connection is closed with no reply. */
export type Misbehaviour = FakeReply | "stall" | "hangup";

export interface RestFake {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** The next request (only) gets this instead of the node's answer. */
  misbehaveNext(how: Misbehaviour): void;
  close(): Promise<void>;
}

export const json = (status: number, body: unknown): FakeReply => ({ status, body: JSON.stringify(body), headers: { "content-type": "application/json" } });

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });

export async function startRestFake(answer: (request: RecordedRequest) => FakeReply, opts: { tls?: { key: string; cert: string } } = {}): Promise<RestFake> {
  const requests: RecordedRequest[] = [];
  let misbehaviour: Misbehaviour | undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const text = await readBody(req);
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    const request: RecordedRequest = { method: req.method ?? "GET", path: req.url ?? "/", headers: req.headers, body };
    requests.push(request);
    const how = misbehaviour;
    misbehaviour = undefined;
    if (how === "stall") return;
    if (how === "hangup") return req.socket.destroy();
    const reply = how ?? answer(request);
    res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers });
    res.end(reply.body);
  };

  const server: Server = opts.tls ? createHttpsServer(opts.tls, handle) : createHttpServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `${opts.tls ? "https" : "http"}://127.0.0.1:${port}`,
    requests,
    misbehaveNext: (how) => (misbehaviour = how),
    close: () =>
      new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/** Text that looks like a BOLT 11 data part (bech32 characters): decodes as nothing. */
export function bech32ish(bytes: Buffer): string {
  return [...bytes].map((b) => BECH32[b % 32]).join("");
}
