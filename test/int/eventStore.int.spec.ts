import type { NatsConnection } from "@nats-io/transport-node";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEventStore, WrongExpectedVersionError, type EventStore } from "../../src/adapters/nats/eventStore.js";
import { applyStreams } from "../../src/adapters/nats/streams.js";
import { creditEarned, newSigner } from "../support/events.js";
import { startTestNats, type TestNats } from "../support/nats.js";

const signer = newSigner();
let nats: TestNats;
let nc: NatsConnection;
let store: EventStore;

beforeAll(async () => {
  nats = await startTestNats();
  nc = await nats.connect();
  store = await createEventStore(nc);
});
afterAll(() => nats.close());

describe("JetStream event store", () => {
  it("applies the declared streams idempotently", async () => {
    const again = await applyStreams(nc);
    expect(again.map((o) => o.action)).toEqual(again.map(() => "unchanged"));
    expect(again.map((o) => o.name)).toContain("EC_CREDITS");
  });

  it("appends to a new aggregate only when it expects version 0", async () => {
    const subject = "ec.credits.account.fresh";
    const first = await store.append(subject, [creditEarned(signer, subject, 5)], 0);
    expect(first.duplicate).toBe(false);
    await expect(store.append(subject, [creditEarned(signer, subject, 5)], 0)).rejects.toBeInstanceOf(WrongExpectedVersionError);
    const second = await store.append(subject, [creditEarned(signer, subject, 7)], first.seq);
    expect(second.seq).toBeGreaterThan(first.seq);
  });

  it("reports a wrong expected version as a typed conflict with the actual version", async () => {
    const subject = "ec.credits.account.conflict";
    const a = await store.append(subject, [creditEarned(signer, subject, 1)], 0);
    const err = await store.append(subject, [creditEarned(signer, subject, 1)], a.seq + 100).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WrongExpectedVersionError);
    expect((err as WrongExpectedVersionError).actual).toBe(a.seq);
  });

  it("treats a retried publish of the same event id as a successful duplicate", async () => {
    const subject = "ec.credits.account.dup";
    const event = creditEarned(signer, subject, 3);
    const first = await store.append(subject, [event], 0);
    // The retry carries the expectation it was first sent with; the duplicate check comes first.
    const retry = await store.append(subject, [event], 0);
    expect(retry).toEqual({ seq: first.seq, duplicate: true });
    const { commits } = await store.readAggregate(subject);
    expect(commits).toHaveLength(1);
  });

  it("reads one aggregate's commits in order and nothing of other aggregates", async () => {
    const a = "ec.credits.account.reader-a";
    const b = "ec.credits.account.reader-b";
    let va = 0;
    for (let i = 1; i <= 5; i++) {
      va = (await store.append(a, [creditEarned(signer, a, i)], va)).seq;
      await store.append(b, [creditEarned(signer, b, 100 + i)], "any");
    }
    const { commits, version } = await store.readAggregate(a);
    expect(version).toBe(va);
    const amounts = commits.map((c) => (JSON.parse(Buffer.from(c.data).toString()) as [{ data: { amount: number } }])[0].data.amount);
    expect(amounts).toEqual([1, 2, 3, 4, 5]);
    expect(commits.every((c) => c.subject === a)).toBe(true);
    expect(await store.readAggregate("ec.credits.account.nobody")).toEqual({ commits: [], version: 0 });
  });

  it("stops following when aborted while its consumer is still being created", async () => {
    const abort = new AbortController();
    const following = (async () => {
      for await (const _ of store.follow("EC_CREDITS", { fromSeq: 1_000_000, signal: abort.signal })) break;
      return "stopped";
    })();
    await Promise.resolve(); // the follower is now awaiting its consumer
    abort.abort();
    const outcome = await Promise.race([following, sleep(3000).then(() => "still following")]);
    expect(outcome).toBe("stopped");
  });

  it("replays a stream from a sequence and then follows new commits live", async () => {
    const last = await store.lastSeq("EC_CREDITS");
    const seqs: number[] = [];
    for await (const c of store.read("EC_CREDITS", { fromSeq: 3 })) seqs.push(c.seq);
    expect(seqs).toEqual(Array.from({ length: last - 2 }, (_, i) => i + 3));

    const abort = new AbortController();
    const seen: number[] = [];
    const following = (async () => {
      for await (const c of store.follow("EC_CREDITS", { fromSeq: last + 1, signal: abort.signal })) {
        seen.push(c.seq);
        if (seen.length === 3) abort.abort();
      }
    })();
    for (let i = 0; i < 3; i++) await store.append("ec.credits.account.live", [creditEarned(signer, "ec.credits.account.live", 1)], "any");
    await following;
    expect(seen).toEqual([last + 1, last + 2, last + 3]);
  });
});
