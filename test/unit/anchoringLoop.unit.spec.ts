import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { startAnchoring, type AnchoringOptions, type CheckpointRef } from "../../src/adapters/ledger/anchoring.js";
import type { CheckpointAnchored, CheckpointAnchorFailed } from "../../src/domain/ledger/anchor.js";

const hashOf = (n: number) => n.toString(16).padStart(64, "0");
const txidOf = (n: number) => (n + 0xabc).toString(16).padStart(64, "f");

/** An in-memory ledger and broadcaster: what the loop is given, and what it did. */
function world() {
  const checkpoints: CheckpointRef[] = [];
  const anchors: CheckpointAnchored[] = [];
  const failures: CheckpointAnchorFailed[] = [];
  const broadcasts: string[] = [];
  const logged: { level: string; msg: string }[] = [];
  const options = {
    intervalMs: 60_000,
    latestCheckpoint: async () => checkpoints.at(-1),
    lastAnchored: async () => anchors.at(-1)?.checkpointSize,
    broadcast: async (hash: string) => {
      broadcasts.push(hash);
      return { txid: txidOf(broadcasts.length), network: "regtest" as const };
    },
    record: async (anchor: CheckpointAnchored) => void anchors.push(anchor),
    reportFailure: async (failure: CheckpointAnchorFailed) => void failures.push(failure),
    log: {
      info: (_: object, msg: string) => void logged.push({ level: "info", msg }),
      warn: (_: object, msg: string) => void logged.push({ level: "warn", msg }),
      error: (_: object, msg: string) => void logged.push({ level: "error", msg }),
    },
  } satisfies AnchoringOptions;
  const checkpoint = (size: number) => checkpoints.push({ size, hash: hashOf(size) });
  return { checkpoints, anchors, failures, broadcasts, logged, options, checkpoint };
}

describe("the anchoring loop", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date("2026-11-24T10:00:00.000Z") });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("given a new checkpoint, when it ticks, then it anchors it once; later ticks leave it alone", async () => {
    const w = world();
    w.checkpoint(10);
    const loop = startAnchoring(w.options);
    await vi.advanceTimersByTimeAsync(0);
    expect(w.anchors).toEqual([{ checkpointSize: 10, checkpointHash: hashOf(10), txid: txidOf(1), network: "regtest", anchoredAt: "2026-11-24T10:00:00.000Z" }]);
    await vi.advanceTimersByTimeAsync(3 * 60_000);
    expect(w.broadcasts).toEqual([hashOf(10)]);
    w.checkpoint(20);
    w.checkpoint(30);
    await vi.advanceTimersByTimeAsync(60_000);
    // Only the latest: it covers the ones before it.
    expect(w.anchors.map((a) => a.checkpointSize)).toEqual([10, 30]);
    expect(await loop.runOnce()).toEqual({ status: "upToDate" });
    await loop.stop();
  });

  it("stop() leaves no timer behind, and nothing runs after it", async () => {
    const w = world();
    const loop = startAnchoring(w.options);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBe(1);
    await loop.stop();
    expect(vi.getTimerCount()).toBe(0);
    w.checkpoint(10);
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(await loop.runOnce()).toEqual({ status: "stopped" });
    expect(w.broadcasts).toEqual([]);
  });

  it("stop() waits for a pass under way, which then schedules nothing", async () => {
    const w = world();
    w.checkpoint(10);
    let release!: () => void;
    const loop = startAnchoring({
      ...w.options,
      broadcast: async (hash) => {
        await new Promise<void>((resolve) => (release = resolve));
        return w.options.broadcast(hash);
      },
    });
    await vi.advanceTimersByTimeAsync(0);
    let stopped = false;
    const stopping = loop.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(w.anchors.map((a) => a.checkpointSize)).toEqual([10]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("given overlapping passes, then one broadcast: a second pass joins the one under way", async () => {
    const w = world();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const loop = startAnchoring({ ...w.options, broadcast: async (hash) => (await gate, w.options.broadcast(hash)) });
    w.checkpoint(10);
    const passes = [loop.runOnce(), loop.runOnce(), loop.runOnce()];
    await vi.advanceTimersByTimeAsync(0); // the timer's own first tick joins too
    release();
    const outcomes = await Promise.all(passes);
    expect(new Set(outcomes).size).toBe(1);
    expect(outcomes[0]).toMatchObject({ status: "anchored", anchor: { checkpointSize: 10 } });
    expect(w.broadcasts).toEqual([hashOf(10)]);
    await loop.stop();
  });

  it("given a failing broadcast, then each failure is reported and retried with backoff up to the interval, and the checkpoint anchored once it works", async () => {
    const w = world();
    w.checkpoint(10);
    let down = true;
    const loop = startAnchoring({
      ...w.options,
      intervalMs: 50_000,
      retryBaseMs: 10_000,
      broadcast: async (hash) => {
        if (down) throw new Error("anchor proxy not reachable at http://127.0.0.1:4311: connect ECONNREFUSED");
        return w.options.broadcast(hash);
      },
    });
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(10_000 + 20_000 + 40_000 + 50_000);
    const delays = w.failures.map((f) => Date.parse(f.retryAt) - Date.parse(f.failedAt));
    expect(delays).toEqual([10_000, 20_000, 40_000, 50_000, 50_000]);
    expect(w.failures.map((f) => f.attempt)).toEqual([1, 2, 3, 4, 5]);
    expect(w.failures[0]).toEqual({
      checkpointSize: 10,
      checkpointHash: hashOf(10),
      attempt: 1,
      reason: "anchor proxy not reachable at http://127.0.0.1:4311: connect ECONNREFUSED",
      failedAt: "2026-11-24T10:00:00.000Z",
      retryAt: "2026-11-24T10:00:10.000Z",
    });
    expect(w.logged.filter((l) => l.level === "warn")).toHaveLength(5);
    down = false;
    await vi.advanceTimersByTimeAsync(50_000);
    expect(w.anchors.map((a) => a.checkpointSize)).toEqual([10]);
    // Back to the regular interval after a success.
    await vi.advanceTimersByTimeAsync(49_999);
    expect(w.failures).toHaveLength(5);
    await loop.stop();
  });

  it("given recording fails after the broadcast, then the next pass records that same anchor and broadcasts nothing new", async () => {
    const w = world();
    w.checkpoint(10);
    let recordFails = true;
    const loop = startAnchoring({
      ...w.options,
      record: async (anchor) => {
        if (recordFails) throw new Error("JetStream not reachable");
        w.anchors.push(anchor);
      },
    });
    const failed = await loop.runOnce();
    expect(failed).toMatchObject({ status: "failed", failure: { checkpointSize: 10, attempt: 1, reason: `broadcast as ${txidOf(1)}, not recorded: JetStream not reachable` } });
    recordFails = false;
    const recorded = await loop.runOnce();
    expect(recorded).toMatchObject({ status: "anchored", anchor: { checkpointSize: 10, txid: txidOf(1) } });
    expect(w.broadcasts).toEqual([hashOf(10)]);
    expect(await loop.runOnce()).toEqual({ status: "upToDate" });
    await loop.stop();
  });

  it("given lastAnchored() lags behind record(), then a checkpoint this loop anchored is not broadcast again", async () => {
    const w = world();
    w.checkpoint(10);
    const loop = startAnchoring({ ...w.options, lastAnchored: async () => undefined });
    await loop.runOnce();
    await loop.runOnce();
    expect(w.broadcasts).toEqual([hashOf(10)]);
    await loop.stop();
  });

  it("given the ledger cannot be read or the failure cannot be reported, then it says so and carries on", async () => {
    const w = world();
    let ledgerUp = false;
    const loop = startAnchoring({
      ...w.options,
      latestCheckpoint: async () => {
        if (!ledgerUp) throw new Error("projection unavailable");
        return { size: 5, hash: hashOf(5) };
      },
      reportFailure: async () => {
        throw new Error("JetStream not reachable");
      },
    });
    const failed = await loop.runOnce();
    expect(failed).toMatchObject({ status: "failed", failure: { attempt: 1, reason: "projection unavailable" } });
    expect(failed.status === "failed" && "checkpointSize" in failed.failure).toBe(false);
    expect(w.logged.map((l) => l.level)).toEqual(["warn", "error"]);
    ledgerUp = true;
    expect(await loop.runOnce()).toMatchObject({ status: "anchored", anchor: { checkpointSize: 5 } });
    await loop.stop();
  });

  it("refuses a broadcast receipt that is not a transaction id, as a failure, never as an anchor", async () => {
    const w = world();
    w.checkpoint(10);
    const loop = startAnchoring({ ...w.options, broadcast: async () => ({ txid: "not-a-txid", network: "regtest" }) });
    expect(await loop.runOnce()).toMatchObject({ status: "failed" });
    expect(w.anchors).toEqual([]);
    await loop.stop();
  });
});
