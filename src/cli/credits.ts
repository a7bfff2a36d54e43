import { z } from "zod";
import { coordinatorAccess } from "./submit.js";
import { NodeUnreachableError } from "./status.js";

/** Exit codes: shown; no such account (no credit events yet); no node answered. */
export const SHOWN = 0;
export const NO_ACCOUNT = 1;
export const NO_NODE = 2;

const Balance = z.object({ accountId: z.string(), available: z.number(), held: z.number(), earnedTotal: z.number(), spentTotal: z.number() });
const History = z.object({
  transactions: z.array(
    z.object({
      type: z.string(),
      amount: z.number(),
      reason: z.string().nullable(),
      ref: z.string().nullable(),
      availableAfter: z.number(),
      occurredAt: z.string(),
      cause: z.object({ subject: z.string(), eventId: z.string() }).nullable(),
    }),
  ),
});

/** Millicredits as credits, exactly: 1234567 -> "1,234.567". */
export function credits(millicredits: number): string {
  const sign = millicredits < 0 ? "-" : "";
  const abs = Math.abs(millicredits);
  const whole = Math.floor(abs / 1000).toLocaleString("en-US");
  const frac = String(abs % 1000).padStart(3, "0");
  return `${sign}${whole}.${frac}`;
}

async function get(url: URL, token: string): Promise<{ status: number; body: unknown }> {
  try {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
    return { status: res.status, body: await res.json().catch(() => undefined) };
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    throw new NodeUnreachableError(`no node answers at ${url.origin} (${cause instanceof Error ? cause.message : String(err)}); is it up? Start one with \`edgecoder up\``);
  }
}

/** `edgecoder credits <account>`: the balance and the latest movements, each with what caused it. */
export async function runCredits(opts: { url: string; dataDir: string; account: string; limit: number; json: boolean }, print: (text: string) => void): Promise<number> {
  const { token } = await coordinatorAccess({ dataDir: opts.dataDir, coordinatorUrl: opts.url }).catch((err: unknown) => {
    throw new NodeUnreachableError(err instanceof Error ? err.message : String(err));
  });
  const account = encodeURIComponent(opts.account);
  const balance = await get(new URL(`/credits/${account}/balance`, opts.url), token);
  if (balance.status === 404) {
    print(`account ${opts.account}: no credit events yet`);
    return NO_ACCOUNT;
  }
  if (balance.status === 400) throw new NodeUnreachableError(`${opts.account} is not an account id: ${JSON.stringify((balance.body as { message?: string })?.message ?? "")}`);
  if (balance.status !== 200) throw new NodeUnreachableError(`the node answered ${balance.status}: ${JSON.stringify(balance.body)}`);
  const b = Balance.parse(balance.body);
  const h = History.parse((await get(new URL(`/credits/${account}/history?limit=${opts.limit}`, opts.url), token)).body);
  if (opts.json) {
    print(JSON.stringify({ ...b, unit: "millicredits", recent: h.transactions }, null, 2));
    return SHOWN;
  }
  const lines = [
    `account ${b.accountId}`,
    `  available  ${credits(b.available)} credits`,
    `  held       ${credits(b.held)} credits (open holds of tasks still running)`,
    `  earned     ${credits(b.earnedTotal)}   spent ${credits(b.spentTotal)}`,
    h.transactions.length ? `latest ${h.transactions.length} movements, newest first:` : "no movements",
    ...h.transactions.map((t) => {
      const why = t.cause ? `  <- ${t.cause.subject}` : t.ref ? `  (${t.ref})` : "";
      return `  ${t.occurredAt}  ${t.type.replace(/^credits\./, "").padEnd(8)} ${credits(t.amount).padStart(14)}  -> ${credits(t.availableAfter)}  ${t.reason ?? ""}${why}`;
    }),
  ];
  print(lines.join("\n"));
  return SHOWN;
}
