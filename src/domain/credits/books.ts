import { foldCommit } from "../decider.js";
import { emptyAccount, heldTotal, type CreditAccount } from "./account.js";
import { creditAccountDecider } from "./commands.js";
import type { CreditEvent } from "./events.js";

/**
 * The credit books as an auditor keeps them from the stream alone: every account folded under
 * the account's rules, and what was minted and burned counted from the events' own amounts. The
 * two sides must meet: the sum of every balance and open hold equals everything minted less
 * everything burned. A stored event the rules refuse (a balance taken below zero, a release that
 * names another amount than its hold) is the books' first issue, and folding stops there.
 */
export interface CreditBooks {
  readonly accounts: Map<string, CreditAccount>;
  /** Earned, and adjusted upward: credits that came into being (exact: sums of many accounts pass 2^53). */
  minted: bigint;
  /** Spent, and adjusted downward: credits that left. */
  burned: bigint;
  events: number;
  issue?: { readonly account: string; readonly seq: number; readonly eventId: string; readonly reason: string };
}

export const openBooks = (): CreditBooks => ({ accounts: new Map(), minted: 0n, burned: 0n, events: 0 });

function counted(books: CreditBooks, event: CreditEvent): void {
  switch (event.type) {
    case "credits.earned":
      books.minted += BigInt(event.data.amount);
      return;
    case "credits.spent":
      books.burned += BigInt(event.data.amount);
      return;
    case "credits.adjusted":
      if (event.data.delta > 0) books.minted += BigInt(event.data.delta);
      else books.burned -= BigInt(event.data.delta);
      return;
    default:
      // Holds and releases move credits within an account; they neither mint nor burn.
      return;
  }
}

/** Takes one commit of an account (stream order); after an issue, nothing more is taken. */
export function bookCommit(books: CreditBooks, account: string, commit: { seq: number; events: readonly (CreditEvent & { id: string })[] }): void {
  if (books.issue) return;
  const before = books.accounts.get(account) ?? emptyAccount();
  const folded = foldCommit(creditAccountDecider, before, commit.events);
  if (!folded.ok) {
    const event = commit.events[folded.index]!;
    books.issue = { account, seq: commit.seq, eventId: event.id, reason: `${event.type} refused by the account's rules: ${folded.code}: ${folded.message}` };
    return;
  }
  books.accounts.set(account, folded.state);
  for (const e of commit.events) counted(books, e);
  books.events += commit.events.length;
}

export interface BooksBalance {
  readonly accounts: number;
  readonly events: number;
  readonly minted: bigint;
  readonly burned: bigint;
  readonly available: bigint;
  readonly held: bigint;
  /** Why the books do not balance, or undefined when they do. */
  readonly issue?: string;
}

/** The books' totals, and whether both sides meet. */
export function closeBooks(books: CreditBooks): BooksBalance {
  let available = 0n;
  let held = 0n;
  for (const a of books.accounts.values()) {
    available += BigInt(a.available);
    held += BigInt(heldTotal(a));
  }
  const totals = { accounts: books.accounts.size, events: books.events, minted: books.minted, burned: books.burned, available, held };
  if (books.issue) return { ...totals, issue: `account ${books.issue.account}, stream sequence ${books.issue.seq}, event ${books.issue.eventId}: ${books.issue.reason}` };
  if (available + held !== books.minted - books.burned) {
    return { ...totals, issue: `balances and holds sum to ${available + held} millicredits, but ${books.minted} were minted and ${books.burned} burned (${books.minted - books.burned})` };
  }
  return totals;
}
