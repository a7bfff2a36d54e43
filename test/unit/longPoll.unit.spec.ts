import { describe, expect, it } from "vitest";
import { LOOK_AGAIN_MS, MAX_PULL_WAIT_MS, pullWork } from "../../src/app/work/pullWork.js";
import { workSignal } from "../../src/app/work/workSignal.js";
import type { AgentDirectory } from "../../src/app/agents/agentDirectory.js";
import { idlePower as power } from "../support/agents.js";

const idlePower = { ...power, lowPowerMode: false, batteryStopPct: 20 };

const approved = {
  status: "approved",
  profile: { mode: "worker", deviceType: "server", capabilities: { models: ["m"], languages: ["python"], sandbox: "bwrap", resourceClass: "cpu", maxConcurrent: 1 } },
  approvedBy: "x",
  approvedProfile: {},
  record: { checked: 0, failed: 0, streak: 0 },
  checks: [],
};
const directory = { agent: async () => approved } as unknown as AgentDirectory;
const heartbeats = { beat: async () => undefined, last: async () => undefined } as never;

/** An assigner that has no work until `workAt` (ms since the test began), then has some. */
function assignerFrom(workAt: () => boolean) {
  const calls: number[] = [];
  const started = performance.now();
  return {
    calls,
    assign: async () => {
      calls.push(performance.now() - started);
      return workAt() ? ({ assigned: true, assignment: { subtaskId: "s" } } as never) : ({ assigned: false, reason: "no_work", message: "nothing queued" } as const);
    },
  };
}

describe("a pull that waits for work (waitMs)", () => {
  it("given a notice that the queue moved, then it looks again at once, not at its next interval", async () => {
    let queued = false;
    const assigner = assignerFrom(() => queued);
    const signal = workSignal();
    const pull = pullWork({ directory, assigner, heartbeats, heartbeatIntervalMs: 10_000, sandboxRequired: false, now: () => new Date(), workSignal: signal });
    const answer = pull("a1", idlePower, { waitMs: 10_000 });
    await new Promise((r) => setTimeout(r, 100));
    queued = true;
    const notifiedAt = performance.now();
    signal.notify();
    expect(await answer).toMatchObject({ assigned: true });
    // Answered on the notice itself, not at the next look (LOOK_AGAIN_MS) or the end of the wait.
    const afterNotice = performance.now() - notifiedAt;
    expect(afterNotice).toBeLessThan(LOOK_AGAIN_MS / 5);
  });

  it("given no signal from the node, then it looks again on its own interval", async () => {
    let queued = false;
    const assigner = assignerFrom(() => queued);
    const pull = pullWork({ directory, assigner, heartbeats, heartbeatIntervalMs: 10_000, sandboxRequired: false, now: () => new Date() });
    setTimeout(() => (queued = true), 100);
    expect(await pull("a1", idlePower, { waitMs: 5_000 })).toMatchObject({ assigned: true });
    expect(assigner.calls.at(-1)!).toBeGreaterThanOrEqual(LOOK_AGAIN_MS - 20);
  });

  it("without waitMs answers no_work at once; a wait is cut to the bound; an abort ends it", async () => {
    const assigner = assignerFrom(() => false);
    const pull = pullWork({ directory, assigner, heartbeats, heartbeatIntervalMs: 10_000, sandboxRequired: false, now: () => new Date(), workSignal: workSignal() });
    expect(await pull("a1", idlePower)).toMatchObject({ assigned: false, reason: "no_work" });
    expect(assigner.calls).toHaveLength(1);
    const abort = new AbortController();
    let abortedAt = 0;
    const waiting = pull("a1", idlePower, { waitMs: 10 * MAX_PULL_WAIT_MS, gone: abort.signal });
    setTimeout(() => {
      abortedAt = performance.now();
      abort.abort();
    }, 50);
    expect(await waiting).toMatchObject({ assigned: false, reason: "no_work" });
    expect(performance.now() - abortedAt).toBeLessThan(500);
  });

  it("a notice wakes as many waiters as it says, longest waiting first; a look at the queue wakes some when work is there", async () => {
    let queued = false;
    const signal = workSignal({ anyQueued: async () => queued, lookEveryMs: 50, wakeOnLook: 1 });
    try {
      const woken: number[] = [];
      const waits = [0, 1, 2, 3].map((i) => signal.next(5_000).then(() => woken.push(i)));
      signal.notify(2);
      await new Promise((r) => setTimeout(r, 20));
      expect(woken).toEqual([0, 1]);
      // Looks come every 50 ms and wake one each while work is queued: the next in line wakes.
      queued = true;
      for (let i = 0; i < 400 && woken.length < 3; i++) await new Promise((r) => setTimeout(r, 5));
      queued = false;
      expect(woken.slice(0, 3)).toEqual([0, 1, 2]);
      signal.stop();
      await Promise.all(waits);
      expect(woken).toEqual([0, 1, 2, 3]);
    } finally {
      signal.stop();
    }
  });
});
