import { CurrentPriceReply, type PriceProposalReply } from "../schemas/economyApi.js";
import { NodeUnreachableError } from "./status.js";
import { coordinatorAccess } from "./submit.js";

export interface PriceOptions {
  /** The node's control plane. */
  readonly url: string;
  readonly dataDir: string;
  readonly json: boolean;
}

const causeOf = (err: unknown) => {
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err);
};

/** Asks the node's control plane (GET /economy/price/current, with the admin token) for the prices. */
export async function fetchPrice(url: string, token: string, timeoutMs = 10_000): Promise<CurrentPriceReply> {
  let res: Response;
  try {
    res = await fetch(new URL("/economy/price/current", url), { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new NodeUnreachableError(`no node answers at ${url} (${causeOf(err)}); is it up? Start one with \`edgecoder up\`, or point --control-plane-url at it`);
  }
  const body = (await res.json().catch(() => undefined)) as { error?: string; message?: string } | undefined;
  if (res.status === 401) throw new NodeUnreachableError(`the node at ${url} refused the admin token (${body?.message ?? "401"}): is ADMIN_API_TOKEN, or --data-dir, that node's?`);
  if (!res.ok) throw new NodeUnreachableError(`the node at ${url} answered ${res.status} ${body?.error ?? ""}: ${body?.message ?? ""}`);
  const parsed = CurrentPriceReply.safeParse(body);
  if (!parsed.success) throw new NodeUnreachableError(`the node at ${url} answered prices this command does not read (another version?): ${parsed.error.issues[0]?.message ?? ""}`);
  return parsed.data;
}

const proposalLine = (p: PriceProposalReply) =>
  `  ${p.resourceClass}  ${String(p.satsPerUnit).padStart(5)} sats  (queued ${p.queued}, leased ${p.agents}, capacity ${p.capacity}; proposed ${p.proposedAt})`;

/** The prices as `edgecoder price` prints them. */
export function priceText(p: CurrentPriceReply): string {
  const network = (["cpu", "gpu"] as const).map((c) => {
    const n = p.network[c];
    return n ? `  ${c}  ${String(n.satsPerUnit).padStart(5)} sats  (median of ${n.counted.length} coordinator${n.counted.length === 1 ? "" : "s"})` : `  ${c}      -       (no current proposal)`;
  });
  return [
    `network price, ${p.unit} (${p.weighting}):`,
    ...network,
    `one credit costs ${p.satsPerCredit.value} sats (${p.satsPerCredit.from === "network" ? "the CPU network price" : "this node's own CPU price: no proposal is current"})`,
    `this node's proposal (${p.node.coordinatorId}):`,
    ...(p.node.proposals.length > 0 ? p.node.proposals.map(proposalLine) : ["  none yet"]),
  ].join("\n");
}

/** `edgecoder price`: prints the network price and this node's proposal. */
export async function runPrice(opts: PriceOptions, print: (text: string) => void): Promise<void> {
  const { token } = await coordinatorAccess({ dataDir: opts.dataDir, coordinatorUrl: opts.url }).catch((err: unknown) => {
    throw new NodeUnreachableError(err instanceof Error ? err.message : String(err));
  });
  const price = await fetchPrice(opts.url, token);
  print(opts.json ? JSON.stringify(price, null, 2) : priceText(price));
}
