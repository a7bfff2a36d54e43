import { describe, expect, it } from "vitest";
import { issuancePayout } from "../../src/domain/economy/issuancePayout.js";

const cause = { subject: "ec.economy.epoch.2026-12-04T17", eventId: "00000000-0000-4000-8000-000000000001" };
const record = (hash: string, allocations: { accountId: string; role: string; millicredits: number }[]) => ({ type: "epoch.voted", data: { coordinatorId: "c", recordHash: hash, record: { allocations } } });

describe("paying out a final epoch", () => {
  const signed = record("a".repeat(64), [
    { accountId: "w1", role: "contributor", millicredits: 300 },
    { accountId: "w1", role: "coordinator", millicredits: 20 },
    { accountId: "treasury-reserve", role: "reserve", millicredits: 20 },
  ]);
  const other = record("b".repeat(64), [{ accountId: "mallory", role: "contributor", millicredits: 999 }]);

  it("given a quorum on one record, then each of its allocations is minted once, by epoch, role and account", () => {
    const moves = issuancePayout([other, signed, { type: "epoch.finalized", data: { recordHash: "a".repeat(64), signers: ["c", "d"] } }], "2026-12-04T17", cause);
    expect(moves.map((m) => [m.account, m.commandId, m.command.kind === "earn" && m.command.amount])).toEqual([
      ["w1", "issue:2026-12-04T17:contributor:w1", 300],
      ["w1", "issue:2026-12-04T17:coordinator:w1", 20],
      ["treasury-reserve", "issue:2026-12-04T17:reserve:treasury-reserve", 20],
    ]);
    expect(moves.every((m) => m.command.kind === "earn" && m.command.cause === cause && m.command.ref === "epoch:2026-12-04T17")).toBe(true);
  });

  it("given votes but no finalization, or a finalization naming a record no vote carries, then nothing is paid", () => {
    expect(issuancePayout([signed, other], "e", cause)).toEqual([]);
    expect(issuancePayout([other, { type: "epoch.finalized", data: { recordHash: "c".repeat(64), signers: ["c"] } }], "e", cause)).toEqual([]);
  });
});
