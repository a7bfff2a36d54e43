import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DomainRuleViolation, foldCommit } from "../../src/domain/decider.js";
import { epochDecider, epochSubject, epochTally, quorumOf, type Epoch, type EpochCommand } from "../../src/domain/economy/epoch.js";
import type { EpochEvent } from "../../src/domain/economy/epochEvents.js";
import { epochRecordHash, type EpochRecord } from "../../src/domain/economy/epochRecord.js";
import { computeEpochRecord, type EpochInputs } from "../../src/domain/economy/issuance.js";
import { given } from "../support/decider.js";

const c = (name: string) => name.padEnd(43, "A");
const [C1, C2, C3, C4, C5, OUTSIDER] = ["c1", "c2", "c3", "c4", "c5", "outsider"].map(c) as [string, string, string, string, string, string];
const APPROVED = [C1, C2, C3];
const AFTER_THE_HOUR = new Date("2026-12-04T18:00:05.000Z");

const inputs = (computeMs: number, epochId = "2026-12-04T17"): EpochInputs => ({
  epochId,
  demand: 3,
  cpuAgents: 2,
  gpuAgents: 0,
  contributions: [{ ref: "lease-1", accountId: "alice", resourceClass: "cpu", computeMs, quality: 1, ok: true }],
  coordinatorAccounts: ["coord-a"],
  reserveAccount: "reserve",
});
const A = computeEpochRecord(inputs(1_000));
const B = computeEpochRecord(inputs(2_000));
const hashA = epochRecordHash(A);
const hashB = epochRecordHash(B);

const voted = (coordinatorId: string, record: EpochRecord): EpochEvent => ({ type: "epoch.voted", data: { coordinatorId, record, recordHash: epochRecordHash(record) } });
const finalized = (recordHash: string, signers: string[]): EpochEvent => ({ type: "epoch.finalized", data: { recordHash, signers } });
const vote = (coordinatorId: string, record: EpochRecord, approvedCoordinators = APPROVED, now = AFTER_THE_HOUR): EpochCommand => ({ kind: "vote", coordinatorId, record, approvedCoordinators, now });
const epoch = (events: readonly EpochEvent[] = []) => given(epochDecider, events);
const fold = (events: readonly EpochEvent[]): Epoch => events.reduce(epochDecider.evolve, epochDecider.initialState());

describe("an issuance epoch closed by vote", () => {
  it("lives at ec.economy.epoch.<epochId>", () => {
    expect(epochSubject("2026-12-04T17")).toBe("ec.economy.epoch.2026-12-04T17");
  });

  it("needs a majority of the approved coordinators: floor(n/2) + 1", () => {
    expect([1, 2, 3, 4, 5, 6].map(quorumOf)).toEqual([1, 2, 2, 3, 3, 4]);
  });

  it("records an approved coordinator's vote with its record's hash", () => {
    epoch().when(vote(C1, A)).then([voted(C1, A)]);
  });

  it("is final when a quorum voted for the same record: the vote that makes it finalizes in the same commit", () => {
    epoch([voted(C1, A)]).when(vote(C2, A)).then([voted(C2, A), finalized(hashA, [C1, C2])]);
  });

  it("is final at once when one coordinator is the whole approved set", () => {
    epoch().when(vote(C1, A, [C1])).then([voted(C1, A), finalized(hashA, [C1])]);
  });

  it("refuses a coordinator that is not approved", () => {
    epoch().when(vote(OUTSIDER, A)).thenThrows("not_approved_coordinator");
  });

  it("refuses a second vote from the same coordinator, for the same record or another", () => {
    epoch([voted(C1, A)]).when(vote(C1, A)).thenThrows("already_voted");
    epoch([voted(C1, A)]).when(vote(C1, B)).thenThrows("already_voted");
  });

  it("refuses votes before the epoch's hour is over", () => {
    epoch().when(vote(C1, A, APPROVED, new Date("2026-12-04T17:59:59.999Z"))).thenThrows("epoch_not_over");
  });

  it("refuses a record of another epoch among the votes", () => {
    epoch([voted(C1, A)]).when(vote(C2, computeEpochRecord(inputs(1_000, "2026-12-04T16")))).thenThrows("wrong_epoch");
  });

  it("refuses every vote once final", () => {
    epoch([voted(C1, A), voted(C2, A), finalized(hashA, [C1, C2])]).when(vote(C3, A)).thenThrows("epoch_final");
    epoch([voted(C1, A), voted(C2, A), finalized(hashA, [C1, C2])]).when(vote(C3, B)).thenThrows("epoch_final");
  });

  it("keeps a disagreement in view, never resolving it: each record with its signers", () => {
    epoch([voted(C1, A)]).when(vote(C2, B)).then([voted(C2, B)]);
    const split = fold([voted(C1, A), voted(C2, B)]);
    expect(split.final).toBeUndefined();
    expect(epochTally(split)).toEqual(
      [
        { recordHash: hashA, record: A, signers: [C1] },
        { recordHash: hashB, record: B, signers: [C2] },
      ].sort((x, y) => (x.recordHash < y.recordHash ? -1 : 1)),
    );
    epoch([voted(C1, A), voted(C2, B)]).when(vote(C3, A)).then([voted(C3, A), finalized(hashA, [C1, C3])]);
    const settled = fold([voted(C1, A), voted(C2, B), voted(C3, A), finalized(hashA, [C1, C3])]);
    expect(epochTally(settled), "the losing record stays with its signer").toEqual([
      { recordHash: hashA, record: A, signers: [C1, C3] },
      { recordHash: hashB, record: B, signers: [C2] },
    ]);
  });

  it("stays open on a two-two split of four, and finalize says why", () => {
    const four = [C1, C2, C3, C4];
    const history = [voted(C1, A), voted(C2, B), voted(C3, A)];
    epoch(history).when(vote(C4, B, four)).then([voted(C4, B)]);
    epoch([...history, voted(C4, B)]).when({ kind: "finalize", approvedCoordinators: four }).thenThrows("no_quorum");
  });

  it("finalizes on votes cast when the approved set has since shrunk, counting only approved signers", () => {
    const five = [C1, C2, C3, C4, C5];
    epoch([voted(C1, A)]).when(vote(C2, A, five)).then([voted(C2, A)]);
    epoch([voted(C1, A), voted(C2, A)]).when({ kind: "finalize", approvedCoordinators: [C2, C3, C4] }).thenThrows("no_quorum");
    epoch([voted(C1, A), voted(C2, A)]).when({ kind: "finalize", approvedCoordinators: [C1, C2, C3] }).then([finalized(hashA, [C1, C2])]);
    epoch([voted(C1, A), voted(C5, A)]).when(vote(C2, A, [C1, C2, C3])).then([voted(C2, A), finalized(hashA, [C1, C2])]);
  });

  it("never applies a stored vote whose hash is not its record's, a record that does not add up, or a finalization by non-voters", () => {
    const init = epochDecider.initialState();
    expect(foldCommit(epochDecider, init, [{ type: "epoch.voted", data: { coordinatorId: C1, record: A, recordHash: hashB } }])).toMatchObject({ ok: false, code: "record_hash_mismatch" });
    const padded: EpochRecord = { ...A, allocations: A.allocations.map((x) => ({ ...x, millicredits: x.millicredits + 1 })) };
    expect(foldCommit(epochDecider, init, [voted(C1, padded)])).toMatchObject({ ok: false, code: "unbalanced_record" });
    expect(foldCommit(epochDecider, init, [voted(C1, A), finalized(hashA, [C1, C2])])).toMatchObject({ ok: false, index: 1, code: "signers_mismatch" });
    expect(foldCommit(epochDecider, init, [voted(C1, A), finalized(hashB, [C1])])).toMatchObject({ ok: false, index: 1, code: "unknown_record" });
    expect(foldCommit(epochDecider, init, [voted(C1, A), voted(C1, A)])).toMatchObject({ ok: false, index: 1, code: "already_voted" });
  });

  it("is final exactly when one record has a quorum of the votes accepted, finalizes once, and loses no vote from the tally (property)", () => {
    const records = [A, B, computeEpochRecord(inputs(3_000))];
    const scenario = fc.integer({ min: 1, max: 7 }).chain((n) =>
      fc.record({
        n: fc.constant(n),
        votes: fc.array(fc.record({ who: fc.integer({ min: 0, max: n }), record: fc.integer({ min: 0, max: 2 }) }), { maxLength: 14 }),
      }),
    );
    fc.assert(
      fc.property(scenario, ({ n, votes }) => {
        const approved = Array.from({ length: n }, (_, i) => c(`k${i}`));
        // who === n is a coordinator outside the approved set.
        const key = (who: number) => (who < n ? approved[who]! : OUTSIDER);
        let state = epochDecider.initialState();
        const accepted: EpochEvent[] = [];
        for (const v of votes) {
          try {
            const events = epochDecider.decide(vote(key(v.who), records[v.record]!, approved), state);
            accepted.push(...events);
            state = events.reduce(epochDecider.evolve, state);
          } catch (err) {
            expect(err).toBeInstanceOf(DomainRuleViolation);
          }
        }
        const finals = accepted.filter((e) => e.type === "epoch.finalized");
        expect(finals.length).toBeLessThanOrEqual(1);
        const tally = epochTally(state);
        expect(tally.reduce((s, t) => s + t.signers.length, 0)).toBe(accepted.filter((e) => e.type === "epoch.voted").length);
        expect(tally.flatMap((t) => t.signers)).not.toContain(OUTSIDER);
        const best = Math.max(0, ...tally.map((t) => t.signers.length));
        if (state.final) {
          const winner = tally.find((t) => t.recordHash === state.final!.recordHash)!;
          expect(state.final.signers.length).toBeGreaterThanOrEqual(quorumOf(n));
          expect(winner.signers).toEqual(expect.arrayContaining([...state.final.signers]));
          expect(accepted.at(-1)?.type, "nothing is accepted after the finalization").toBe("epoch.finalized");
        } else {
          expect(best).toBeLessThan(quorumOf(n));
        }
      }),
    );
  });
});
