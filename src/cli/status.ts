import { NodeStatus } from "../app/status/nodeStatus.js";
import { coordinatorAccess } from "./submit.js";
import { statusTable } from "./statusTable.js";

/** Exit codes: everything is up; the node answered but something it needs is down; no node answered. */
export const ALL_UP = 0;
export const DEGRADED = 1;
export const NO_NODE = 2;

export interface StatusOptions {
  /** The node's control plane. */
  readonly url: string;
  readonly dataDir: string;
  readonly json: boolean;
}

/** Why the node could not be asked: printed as is, with no stack. */
export class NodeUnreachableError extends Error {
  override readonly name = "NodeUnreachableError";
}

const causeOf = (err: unknown) => {
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err);
};

/** Asks the running node's control plane (GET /status, with the admin token) for its status. */
export async function fetchStatus(url: string, token: string, timeoutMs = 10_000): Promise<NodeStatus> {
  let res: Response;
  try {
    res = await fetch(new URL("/status", url), { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new NodeUnreachableError(`no node answers at ${url} (${causeOf(err)}); is it up? Start one with \`edgecoder up\`, or point --control-plane-url at it`);
  }
  const body = (await res.json().catch(() => undefined)) as { error?: string; message?: string } | undefined;
  if (res.status === 401) throw new NodeUnreachableError(`the node at ${url} refused the admin token (${body?.message ?? "401"}): is ADMIN_API_TOKEN, or --data-dir, that node's?`);
  if (!res.ok) throw new NodeUnreachableError(`the node at ${url} answered ${res.status} ${body?.error ?? ""}: ${body?.message ?? ""}`);
  const parsed = NodeStatus.safeParse(body);
  if (!parsed.success) throw new NodeUnreachableError(`the node at ${url} answered a status this command does not read (another version?): ${parsed.error.issues[0]?.message ?? ""}`);
  return parsed.data;
}

/** The node's status as a table (or JSON); resolves with the exit code. */
export async function runStatus(opts: StatusOptions, print: (text: string) => void): Promise<number> {
  const { token } = await coordinatorAccess({ dataDir: opts.dataDir, coordinatorUrl: opts.url }).catch((err: unknown) => {
    throw new NodeUnreachableError(err instanceof Error ? err.message : String(err));
  });
  const status = await fetchStatus(opts.url, token);
  print(opts.json ? JSON.stringify(status, null, 2) : statusTable(status, new Date()));
  const partsDown = [status.streams, status.projections, status.queue, status.agents, status.ledger, status.consumers].some((p) => typeof p === "object" && "unavailable" in p);
  return status.health.ok && !partsDown ? ALL_UP : DEGRADED;
}

/** The control plane of the node this configuration describes: its host (loopback for a wildcard) and port. */
export function controlPlaneUrlOf(host: string, port: number): string {
  const reachable = host === "0.0.0.0" || host === "::" || host === "" ? "127.0.0.1" : host;
  return `http://${reachable.includes(":") ? `[${reachable}]` : reachable}:${port}`;
}
