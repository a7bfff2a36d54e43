import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sealEvent } from "../../src/adapters/crypto/eventSigning.js";
import type { EventEnvelope } from "../../src/domain/events/envelope.js";
import { eventHash, GENESIS_HASH, recordOf, taskRefs } from "../../src/domain/ledger/record.js";
import { chainVerifier, type SourceEvent } from "../../src/domain/ledger/verify.js";
import { creditEarned, newSigner } from "../support/events.js";

const writer = newSigner();
const coordinator = newSigner();
const stranger = newSigner();

function sources(n: number): SourceEvent[] {
  return Array.from({ length: n }, (_, i) => ({ stream: "EC_CREDITS", seq: i + 1, event: creditEarned(writer, `ec.credits.account.acct-${i % 3}`, 1_000) }));
}

/** A well-formed ledger of `src`, each record signed by `signer`. */
function ledgerOf(src: SourceEvent[], signer = coordinator): EventEnvelope[] {
  let prev = GENESIS_HASH;
  return src.map((s, index) => {
    const record = sealEvent(signer, {
      id: `rec-${index}`,
      type: "ledger.recorded",
      subject: "ec.ledger.chain",
      data: recordOf(s.event, s, index, prev),
      time: "2026-11-23T12:00:00.000Z",
      schemaVersion: 1,
    });
    prev = eventHash(record);
    return record;
  });
}

function verify(records: EventEnvelope[], src: SourceEvent[], opts: { trusted?: boolean } = {}) {
  const byId = new Map(src.map((s) => [s.event.id, s]));
  const v = chainVerifier({ source: (id) => byId.get(id), ...(opts.trusted === false ? {} : { trustedKeys: new Set([coordinator.publicKey]) }) });
  for (const [i, r] of records.entries()) {
    const issue = v.check(r, true, i + 1);
    if (issue) return issue;
  }
  return undefined;
}

describe("verifying the ordering chain", () => {
  const src = sources(6);
  const good = ledgerOf(src);

  it("given an honest ledger, when verified, then nothing is wrong and the head is the last record's hash", () => {
    expect(verify(good, src)).toBeUndefined();
    const byId = new Map(src.map((s) => [s.event.id, s]));
    const v = chainVerifier({ source: (id) => byId.get(id) });
    good.forEach((r, i) => v.check(r, true, i + 1));
    expect(v.progress()).toEqual({ count: 6, headHash: eventHash(good[5]!) });
  });

  it("given a dropped record, then the record after the gap is named", () => {
    expect(verify([...good.slice(0, 2), ...good.slice(3)], src)).toMatchObject({ position: 2, recordId: "rec-3", reason: expect.stringMatching(/^index 3 where 2 was due/) });
  });

  it("given two records swapped, then the first out of place is named", () => {
    expect(verify([good[0]!, good[2]!, good[1]!, ...good.slice(3)], src)).toMatchObject({ position: 1, recordId: "rec-2" });
  });

  it("given a record re-signed by a trusted key with changed data, then it no longer matches its source", () => {
    const changed = sealEvent(coordinator, { ...good[2]!, data: { ...(good[2]!.data as object), eventTime: "2020-01-01T00:00:00.000Z" } });
    const issue = verify([good[0]!, good[1]!, changed, ...good.slice(3)], src);
    // The changed record no longer matches its source event; that is caught first.
    expect(issue).toMatchObject({ position: 2, recordId: "rec-2", reason: expect.stringMatching(/does not match its source event .*: eventTime differs/) });
  });

  it("given a record signed by an unknown key, then it is named", () => {
    const forged = ledgerOf(src, stranger);
    expect(verify([good[0]!, forged[1]!, ...good.slice(2)], src)).toMatchObject({ position: 1, reason: expect.stringMatching(/unknown key/) });
  });

  it("given a record whose source event is unknown or altered, then it is named", () => {
    expect(verify(good, src.slice(0, 5))).toMatchObject({ position: 5, reason: expect.stringMatching(/is not in EC_CREDITS/) });
    const altered = src.map((s, i) => (i === 4 ? { ...s, event: { ...s.event, data: { ...s.event.data, amount: 999 } } } : s));
    expect(verify(good, altered)).toMatchObject({ position: 4, reason: expect.stringMatching(/source.hash differs/) });
  });

  it("given a bad signature, then the record is named before anything else is believed", () => {
    const byId = new Map(src.map((s) => [s.event.id, s]));
    const v = chainVerifier({ source: (id) => byId.get(id) });
    expect(v.check(good[0]!, true, 1)).toBeUndefined();
    expect(v.check(good[1]!, false, 2)).toMatchObject({ position: 1, reason: expect.stringMatching(/bad signature/) });
  });

  it("given a source event chained twice, then the second record is named", () => {
    const twice = ledgerOf([...src.slice(0, 3), src[1]!]);
    expect(verify(twice, src)).toMatchObject({ position: 3, reason: expect.stringMatching(/a second time/) });
  });

  it("resumes from saved progress without the records before it", () => {
    const byId = new Map(src.map((s) => [s.event.id, s]));
    const v = chainVerifier({ source: (id) => byId.get(id), from: { count: 3, headHash: eventHash(good[2]!) } });
    expect(good.slice(3).map((r, i) => v.check(r, true, i + 4))).toEqual([undefined, undefined, undefined]);
  });

  it("property: removing, duplicating or moving any one record is always caught at or before it", () => {
    const n = 8;
    const s = sources(n);
    const ledger = ledgerOf(s);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: n - 1 }), fc.integer({ min: 0, max: n - 1 }), fc.constantFrom("drop", "dup", "move"), (i, j, how) => {
        const copy = [...ledger];
        if (how === "drop") copy.splice(i, 1);
        else if (how === "dup") copy.splice(j, 0, ledger[i]!);
        else {
          if (i === j) return;
          const [r] = copy.splice(i, 1);
          copy.splice(j, 0, r!);
        }
        const issue = verify(copy, s);
        if (how === "drop" && i === n - 1) {
          expect(issue).toBeUndefined(); // a shorter honest prefix
          return;
        }
        expect(issue).toBeDefined();
        // A copy inserted right before its original is itself in place: the original is then caught.
        expect(issue!.position).toBeLessThanOrEqual(Math.max(i, j) + 1);
      }),
    );
  });

  it("tells tasks and subtasks from their subjects", () => {
    expect(taskRefs("ec.tasks.task.t1")).toEqual({ taskId: "t1" });
    expect(taskRefs("ec.tasks.subtask.t1-3")).toEqual({ subtaskId: "t1-3", taskId: "t1" });
    expect(taskRefs("ec.credits.account.alice")).toEqual({});
    // The aggregate kind says which it is, not the shape of the id.
    expect(taskRefs("ec.tasks.task.t1-3")).toEqual({ taskId: "t1-3" });
    expect(taskRefs("ec.tasks.other.t1")).toEqual({});
  });
});
