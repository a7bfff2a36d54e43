import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bookCommit, closeBooks, openBooks } from "../../src/domain/credits/books.js";
import { creditAccountDecider, CreditCommand } from "../../src/domain/credits/commands.js";
import type { CreditEvent } from "../../src/domain/credits/events.js";
import { DomainRuleViolation } from "../../src/domain/decider.js";

const { decide, evolve, initialState } = creditAccountDecider;
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
let n = 0;
const withIds = (events: readonly CreditEvent[]) => events.map((e) => ({ ...e, id: id(++n) }));

const account = fc.constantFrom("alice", "bob", "carol", "toString");
const amount = fc.integer({ min: 1, max: 10_000 });
const holdId = fc.constantFrom("task:1", "task:2", "h");
const reason = fc.constant("r");
const command: fc.Arbitrary<CreditCommand> = fc.oneof(
  fc.record({ kind: fc.constant("earn" as const), amount, reason }),
  fc.record({ kind: fc.constant("spend" as const), amount, reason }),
  fc.record({ kind: fc.constant("hold" as const), holdId, amount, reason }),
  fc.record({ kind: fc.constant("release" as const), holdId }),
  fc.record({ kind: fc.constant("settle" as const), holdId, cost: amount, reason, ref: fc.constant("task:1") }),
  fc.record({ kind: fc.constant("adjust" as const), delta: fc.integer({ min: -5_000, max: 5_000 }).filter((d) => d !== 0), reason }),
);

describe("the credit books an auditor keeps", () => {
  it("property: whatever the accounts decided, no balance is below zero and balances plus holds equal minted less burned", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(account, command), { maxLength: 120 }), (moves) => {
        const books = openBooks();
        const states = new Map<string, ReturnType<typeof initialState>>();
        let seq = 0;
        for (const [who, cmd] of moves) {
          const state = states.get(who) ?? initialState();
          let events: readonly CreditEvent[];
          try {
            events = decide(cmd, state);
          } catch (err) {
            if (err instanceof DomainRuleViolation) continue;
            throw err;
          }
          states.set(who, events.reduce(evolve, state));
          bookCommit(books, who, { seq: ++seq, events: withIds(events) });
        }
        const balance = closeBooks(books);
        expect(balance.issue).toBeUndefined();
        expect(balance.available + balance.held).toBe(balance.minted - balance.burned);
        for (const s of books.accounts.values()) expect(s.available).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 200 },
    );
  });

  it("given a stored spend no decider would make (it overdraws), then the books name it and stop there", () => {
    const books = openBooks();
    bookCommit(books, "alice", { seq: 1, events: withIds([{ type: "credits.earned", data: { amount: 100, reason: "r" } }]) });
    const forged = withIds([{ type: "credits.spent", data: { amount: 500, reason: "r" } }]);
    bookCommit(books, "alice", { seq: 2, events: forged });
    bookCommit(books, "bob", { seq: 3, events: withIds([{ type: "credits.earned", data: { amount: 7, reason: "r" } }]) });
    const balance = closeBooks(books);
    expect(balance.issue).toBe(`account alice, stream sequence 2, event ${forged[0]!.id}: credits.spent refused by the account's rules: insufficient_credits: needs 500 millicredits, 100 available`);
    expect(balance.events).toBe(1);
  });

  it("given a release that names another amount than its hold, then the books refuse it", () => {
    const books = openBooks();
    bookCommit(books, "alice", {
      seq: 1,
      events: withIds([
        { type: "credits.earned", data: { amount: 100, reason: "r" } },
        { type: "credits.held", data: { holdId: "h", amount: 60, reason: "r" } },
      ]),
    });
    bookCommit(books, "alice", { seq: 2, events: withIds([{ type: "credits.released", data: { holdId: "h", amount: 90 } }]) });
    expect(closeBooks(books).issue).toMatch(/release_mismatch/);
  });

  it("counts exactly past 2^53: many accounts each near the largest safe amount", () => {
    const books = openBooks();
    for (let i = 0; i < 4; i++) bookCommit(books, `a${i}`, { seq: i + 1, events: withIds([{ type: "credits.earned", data: { amount: Number.MAX_SAFE_INTEGER, reason: "r" } }]) });
    const balance = closeBooks(books);
    expect(balance.issue).toBeUndefined();
    expect(balance.minted).toBe(4n * BigInt(Number.MAX_SAFE_INTEGER));
  });
});
