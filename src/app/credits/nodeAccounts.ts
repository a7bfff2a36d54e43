import { creditSubject, type CreditCommand } from "../../domain/credits/commands.js";
import { MILLI } from "../../domain/credits/workPricing.js";
import type { HandleCommand } from "../commands.js";

/** The account tasks submitted without a named submitter pay from (the node's operator). */
export const LOCAL_ACCOUNT = "local";

/** A coordinator's own account: the model charges and fees of the tasks it runs. */
export const coordinatorAccountOf = (publicKey: string) => `coordinator-${publicKey}`;

/**
 * A development node's operator gets credits once, so `edgecoder submit` works on a new node. It
 * is labelled in its reason, never given in production, and given only to an account with no
 * history: its command id makes two nodes starting at once give it once, and a restart finds the
 * account's history and gives nothing.
 */
export async function grantDevelopmentCredits(deps: {
  readonly handleCredit: HandleCommand<CreditCommand>;
  readonly accountHasHistory: (subject: string) => Promise<boolean>;
  readonly environment: "development" | "production";
  readonly credits: number;
  readonly now: Date;
}): Promise<number> {
  if (deps.environment === "production" || deps.credits === 0) return 0;
  const subject = creditSubject(LOCAL_ACCOUNT);
  if (await deps.accountHasHistory(subject)) return 0;
  const amount = deps.credits * MILLI;
  await deps.handleCredit(subject, { kind: "earn", amount, reason: "development grant (EC_ENV is not production; EC_DEV_GRANT_CREDITS)" }, { commandId: `dev-grant:${LOCAL_ACCOUNT}`, now: deps.now });
  return amount;
}
