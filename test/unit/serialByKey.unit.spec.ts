import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { serialByKey } from "../../src/adapters/serialByKey.js";

describe("work run in turn by key", () => {
  it("runs one key's work one after another in the order given, other keys beside it, and a failure does not stop the next", async () => {
    const inTurn = serialByKey();
    const log: string[] = [];
    const job = (name: string, ms: number, fail = false) => async () => {
      log.push(`${name} start`);
      await sleep(ms);
      log.push(`${name} end`);
      if (fail) throw new Error(name);
      return name;
    };
    const a1 = inTurn("a", job("a1", 30, true));
    const a2 = inTurn("a", job("a2", 5));
    const b1 = inTurn("b", job("b1", 5));
    await expect(a1).rejects.toThrow("a1");
    expect(await a2).toBe("a2");
    expect(await b1).toBe("b1");
    // b ran while a1 did; a2 waited for a1 to end, failed as it did.
    expect(log.indexOf("b1 end")).toBeLessThan(log.indexOf("a1 end"));
    expect(log.indexOf("a2 start")).toBeGreaterThan(log.indexOf("a1 end"));
  });
});
