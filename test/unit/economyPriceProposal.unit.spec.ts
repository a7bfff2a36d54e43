import { describe, expect, it } from "vitest";
import { foldCommit } from "../../src/domain/decider.js";
import type { PriceEvent } from "../../src/domain/economy/priceEvents.js";
import { priceProposalDecider, priceSubject } from "../../src/domain/economy/priceProposal.js";
import { given } from "../support/decider.js";

const COORDINATOR = "coordinatorKey".padEnd(43, "A");
const at = (minute: number) => new Date(Date.UTC(2026, 11, 4, 17, minute));
const counts = { queued: 15, agents: 5, capacity: 10 };
const proposed = (resourceClass: "cpu" | "gpu", minute: number, satsPerUnit: number, c = counts): PriceEvent => ({
  type: "price.proposed",
  data: { resourceClass, ...c, satsPerUnit, at: at(minute).toISOString() },
});
const proposals = (events: readonly PriceEvent[] = []) => given(priceProposalDecider, events);

describe("price proposals of a coordinator", () => {
  it("lives at ec.economy.price.<coordinatorId>", () => {
    expect(priceSubject(COORDINATOR)).toBe(`ec.economy.price.${COORDINATOR}`);
  });

  it("records the price the counts give, with the counts and the time", () => {
    proposals()
      .when({ kind: "propose", resourceClass: "cpu", ...counts, now: at(1) })
      .then([proposed("cpu", 1, 41)]);
  });

  it("accepts a newer proposal and keeps the latest of each class", () => {
    proposals([proposed("cpu", 1, 41)])
      .when({ kind: "propose", resourceClass: "cpu", queued: 0, agents: 10, capacity: 10, now: at(2) })
      .thenState({ latest: { cpu: { satsPerUnit: 30, at: at(2).toISOString() } } });
  });

  it("takes each class on its own: a GPU proposal at the same instant as a CPU one is newer for GPU", () => {
    proposals([proposed("cpu", 1, 41)])
      .when({ kind: "propose", resourceClass: "gpu", ...counts, now: at(1) })
      .then([proposed("gpu", 1, 162)]);
  });

  it("refuses a proposal not newer than the last of its class: the same instant, or earlier", () => {
    proposals([proposed("cpu", 5, 41)]).when({ kind: "propose", resourceClass: "cpu", ...counts, now: at(5) }).thenThrows("not_newer");
    proposals([proposed("cpu", 5, 41)]).when({ kind: "propose", resourceClass: "cpu", ...counts, now: at(4) }).thenThrows("not_newer");
  });

  it("never applies a stored proposal whose price is not its counts' price, or that is older than the last", () => {
    const fake = foldCommit(priceProposalDecider, priceProposalDecider.initialState(), [proposed("cpu", 1, 500)]);
    expect(fake).toMatchObject({ ok: false, code: "price_mismatch" });
    const replayed = foldCommit(priceProposalDecider, priceProposalDecider.initialState(), [proposed("cpu", 2, 41), proposed("cpu", 1, 41)]);
    expect(replayed).toMatchObject({ ok: false, index: 1, code: "not_newer" });
  });
});
