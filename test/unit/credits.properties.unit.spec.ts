import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { emptyAccount, heldTotal, type CreditAccount } from "../../src/domain/credits/account.js";
import { creditAccountDecider, CreditCommand } from "../../src/domain/credits/commands.js";
import type { CreditEvent } from "../../src/domain/credits/events.js";
import { creditRuleBreak } from "../../src/domain/credits/rules.js";
import { DomainRuleViolation, foldCommit } from "../../src/domain/decider.js";

const MAX = Number.MAX_SAFE_INTEGER;
const { decide, evolve } = creditAccountDecider;

// A few hold ids, so holds collide, get reused and get spent from; two of them name
// Object.prototype members, which must behave as ordinary ids.
const holdId = fc.constantFrom("h1", "h2", "task-3", "toString", "__proto__");
const reason = fc.constantFrom("subtask", "task", "correction");

function commandsWith(amount: fc.Arbitrary<number>, delta: fc.Arbitrary<number>): fc.Arbitrary<CreditCommand> {
  return fc.oneof(
    fc.record({ kind: fc.constant("earn" as const), amount, reason }),
    fc.record({ kind: fc.constant("spend" as const), amount, reason }),
    fc.record({ kind: fc.constant("spend" as const), amount, reason, holdId }),
    fc.record({ kind: fc.constant("hold" as const), holdId, amount, reason }),
    fc.record({ kind: fc.constant("release" as const), holdId }),
    fc.record({ kind: fc.constant("adjust" as const), delta, reason }),
  );
}

const smallAmount = fc.integer({ min: 1, max: 50 });
const smallDelta = fc.integer({ min: -50, max: 50 }).filter((d) => d !== 0);
const smallCommands = fc.array(commandsWith(smallAmount, smallDelta), { maxLength: 60 });

// Amounts near the top of the exact range, so sums cross Number.MAX_SAFE_INTEGER.
const hugeAmount = fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: MAX - 100, max: MAX }), fc.integer({ min: 1, max: MAX }));
const hugeDelta = fc.oneof(hugeAmount, hugeAmount.map((a) => -a));
const hugeCommands = fc.array(commandsWith(hugeAmount, hugeDelta), { maxLength: 30 });

const eventAmount = fc.integer({ min: 1, max: 60 });
const storedEvent: fc.Arbitrary<CreditEvent> = fc.oneof(
  fc.record({ type: fc.constant("credits.earned" as const), data: fc.record({ amount: eventAmount, reason }) }),
  fc.record({
    type: fc.constant("credits.spent" as const),
    data: fc.record({ amount: eventAmount, reason, holdId }, { requiredKeys: ["amount", "reason"] }),
  }),
  fc.record({ type: fc.constant("credits.held" as const), data: fc.record({ holdId, amount: eventAmount, reason }) }),
  fc.record({ type: fc.constant("credits.released" as const), data: fc.record({ holdId, amount: eventAmount }) }),
  fc.record({
    type: fc.constant("credits.adjusted" as const),
    data: fc.record({ delta: fc.integer({ min: -60, max: 60 }).filter((d) => d !== 0), reason }),
  }),
);

interface Step {
  readonly before: CreditAccount;
  readonly events: readonly CreditEvent[];
  readonly after: CreditAccount;
}

/** Runs the commands through the decider, skipping the ones its rules refuse. */
function run(commands: readonly CreditCommand[]): Step[] {
  const steps: Step[] = [];
  let state = emptyAccount();
  for (const command of commands) {
    expect(CreditCommand.safeParse(command).success, "the arbitrary must produce valid commands").toBe(true);
    let events: readonly CreditEvent[];
    try {
      events = decide(command, state);
    } catch (err) {
      if (err instanceof DomainRuleViolation) continue;
      throw err;
    }
    const after = events.reduce(evolve, state);
    steps.push({ before: state, events, after });
    state = after;
  }
  return steps;
}

/** What the history says the account holds in total: earned - spent + adjustments, exactly. */
function ledgerTotal(events: readonly CreditEvent[]): bigint {
  let total = 0n;
  for (const e of events) {
    if (e.type === "credits.earned") total += BigInt(e.data.amount);
    else if (e.type === "credits.spent") total -= BigInt(e.data.amount);
    else if (e.type === "credits.adjusted") total += BigInt(e.data.delta);
  }
  return total;
}

function expectSound(state: CreditAccount, history: readonly CreditEvent[]) {
  expect(Number.isSafeInteger(state.available)).toBe(true);
  expect(state.available).toBeGreaterThanOrEqual(0);
  for (const amount of Object.values(state.held)) {
    expect(Number.isSafeInteger(amount)).toBe(true);
    expect(amount).toBeGreaterThan(0);
  }
  const heldExact = Object.values(state.held).reduce((sum, a) => sum + BigInt(a), 0n);
  expect(BigInt(state.available) + heldExact).toBe(ledgerTotal(history));
  expect(BigInt(state.available) + heldExact <= BigInt(MAX)).toBe(true);
}

const runs = { numRuns: 300 };

describe("credit account properties", () => {
  it("whatever commands arrive, available stays >= 0, every hold > 0 and available + held equals the ledger", () => {
    fc.assert(
      fc.property(smallCommands, (commands) => {
        const history: CreditEvent[] = [];
        for (const step of run(commands)) {
          history.push(...step.events);
          expectSound(step.after, history);
          expect(heldTotal(step.after)).toBe(Object.values(step.after.held).reduce((a, b) => a + b, 0));
        }
      }),
      runs,
    );
  });

  it("with amounts up to Number.MAX_SAFE_INTEGER, every balance and hold stays exact", () => {
    fc.assert(
      fc.property(hugeCommands, (commands) => {
        const history: CreditEvent[] = [];
        for (const step of run(commands)) {
          history.push(...step.events);
          expectSound(step.after, history);
        }
      }),
      runs,
    );
  });

  it("foldCommit refuses exactly the events creditRuleBreak flags, at the first one", () => {
    fc.assert(
      fc.property(smallCommands, fc.array(storedEvent, { minLength: 1, maxLength: 6 }), (commands, commit) => {
        const start = run(commands).at(-1)?.after ?? emptyAccount();
        let expected: ReturnType<typeof foldCommit<CreditCommand, CreditAccount, CreditEvent>> = { ok: true, state: start };
        let state = start;
        for (const [index, event] of commit.entries()) {
          const broken = creditRuleBreak(state, event);
          if (broken) {
            expected = { ok: false, index, ...broken };
            break;
          }
          state = evolve(state, event);
          expected = { ok: true, state };
        }
        expect(foldCommit(creditAccountDecider, start, commit)).toEqual(expected);
      }),
      runs,
    );
  });

  it("folding only what the rules admit keeps the account sound, whatever a stored stream holds", () => {
    fc.assert(
      fc.property(fc.array(fc.array(storedEvent, { minLength: 1, maxLength: 3 }), { maxLength: 40 }), (commits) => {
        let state = emptyAccount();
        const history: CreditEvent[] = [];
        for (const commit of commits) {
          const folded = foldCommit(creditAccountDecider, state, commit);
          if (!folded.ok) continue;
          state = folded.state;
          history.push(...commit);
          expectSound(state, history);
        }
      }),
      runs,
    );
  });

  it("the decider never decides an event its own rules would refuse", () => {
    fc.assert(
      fc.property(smallCommands, (commands) => {
        for (const step of run(commands)) {
          let state = step.before;
          for (const event of step.events) {
            expect(creditRuleBreak(state, event)).toBeUndefined();
            state = evolve(state, event);
          }
          expect(foldCommit(creditAccountDecider, step.before, step.events)).toEqual({ ok: true, state: step.after });
        }
      }),
      runs,
    );
  });

  it("replaying the decided history from an empty account rebuilds the same state", () => {
    fc.assert(
      fc.property(smallCommands, (commands) => {
        const steps = run(commands);
        const replayed = foldCommit(creditAccountDecider, emptyAccount(), steps.flatMap((s) => s.events));
        expect(replayed).toEqual({ ok: true, state: steps.at(-1)?.after ?? emptyAccount() });
      }),
      runs,
    );
  });
});
