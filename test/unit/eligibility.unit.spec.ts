import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Agent } from "../../src/domain/agents/agent.js";
import type { AgentCapabilities } from "../../src/domain/agents/capabilities.js";
import { deviceTypeRefusal, eligibility, SMALL_SUBTASK_MAX_MS } from "../../src/domain/agents/eligibility.js";
import { noRecord } from "../../src/domain/agents/record.js";
import type { PowerTelemetry } from "../../src/domain/agents/powerPolicy.js";

const capabilities: AgentCapabilities = { models: ["qwen2.5-coder:1.5b"], languages: ["python"], sandbox: "bwrap", resourceClass: "cpu", maxConcurrent: 1 };
const known = { record: noRecord, checks: [] };
const approved = (caps: Partial<AgentCapabilities> = {}, mode: "worker" | "ide" = "worker"): Agent => {
  const profile = { mode, capabilities: { ...capabilities, ...caps } };
  return { status: "approved", profile, approvedBy: "operator", approvedProfile: profile, ...known };
};
const desktop: PowerTelemetry = { deviceType: "desktop", cpuLoadPct: 10, thermalState: "nominal", onExternalPower: true, lowPowerMode: false, batteryStopPct: 20 };
const laptop = (batteryPct: number): PowerTelemetry => ({ ...desktop, deviceType: "laptop", onExternalPower: false, batteryPct });
const policy = { sandboxRequired: true };

describe("who may pull coordinator work", () => {
  it("an approved agent on a desktop may take work in its languages and models", () => {
    expect(eligibility(approved(), desktop, policy)).toEqual({
      eligible: true,
      filter: { languages: ["python"], models: ["qwen2.5-coder:1.5b"], resourceClasses: ["cpu"], sandboxed: true },
    });
  });

  it("a pending agent waits for approval; a blacklisted one is refused with the reason", () => {
    const pending: Agent = { status: "pending", profile: { mode: "worker", capabilities }, ...known };
    expect(eligibility(pending, desktop, policy)).toMatchObject({ eligible: false, reason: "not_approved" });
    expect(eligibility({ status: "blacklisted", reason: "forged results", ...known }, desktop, policy)).toMatchObject({
      eligible: false,
      reason: "blacklisted",
      message: "blacklisted: forged results",
    });
  });

  it("an agent without a sandbox gets nothing under SANDBOX_REQUIRED, and only sandbox-optional work otherwise", () => {
    const ide = approved({ sandbox: "none" }, "ide");
    expect(eligibility(ide, desktop, { sandboxRequired: true })).toMatchObject({ eligible: false, reason: "sandbox_required" });
    expect(eligibility(ide, desktop, { sandboxRequired: false })).toMatchObject({ eligible: true, filter: { sandboxed: false } });
  });

  it("an agent with no model takes no code work", () => {
    expect(eligibility(approved({ models: [] }), desktop, policy)).toMatchObject({ eligible: false, reason: "no_model" });
  });

  it("the power policy decides last: blocked, deferred with its delay, or small subtasks only", () => {
    expect(eligibility(approved(), laptop(10), policy)).toMatchObject({ eligible: false, reason: "power_blocked", message: "power policy: Laptop battery < 15%" });
    expect(eligibility(approved(), { ...desktop, cpuLoadPct: 95 }, policy)).toMatchObject({ eligible: false, reason: "power_deferred", deferMs: 5_000 });
    expect(eligibility(approved(), laptop(30), policy)).toMatchObject({ eligible: true, filter: { maxTimeoutMs: SMALL_SUBTASK_MAX_MS } });
    expect(eligibility(approved(), laptop(80), policy)).toMatchObject({ eligible: true, filter: { resourceClasses: ["cpu"] } });
  });

  it("a GPU agent takes CPU and GPU work; a CPU agent never gets GPU work", () => {
    expect(eligibility(approved({ resourceClass: "gpu" }), desktop, policy)).toMatchObject({ filter: { resourceClasses: ["cpu", "gpu"] } });
  });

  it("property: nothing is ever eligible that is not approved, and eligibility never widens the agent's own languages or models", () => {
    const status = fc.constantFrom("pending", "approved", "blacklisted");
    const power = fc.record({
      deviceType: fc.constantFrom("server", "desktop", "laptop", "ios"),
      cpuLoadPct: fc.integer({ min: 0, max: 100 }),
      thermalState: fc.constantFrom("nominal", "fair", "serious", "critical"),
      onExternalPower: fc.boolean(),
      batteryPct: fc.integer({ min: 0, max: 100 }),
      lowPowerMode: fc.boolean(),
      batteryStopPct: fc.constant(20),
    }) as fc.Arbitrary<PowerTelemetry>;
    fc.assert(
      fc.property(status, power, fc.subarray(["a", "b", "c"]), fc.boolean(), (s, p, models, sandboxRequired) => {
        const profile = { mode: "worker" as const, capabilities: { ...capabilities, models } };
        const agent: Agent =
          s === "blacklisted"
            ? { status: "blacklisted", reason: "x", ...known }
            : s === "approved"
              ? { status: s, profile, approvedBy: "operator", approvedProfile: profile, ...known }
              : { status: s, profile, ...known };
        const verdict = eligibility(agent, p, { sandboxRequired });
        if (!verdict.eligible) return;
        expect(s).toBe("approved");
        expect(verdict.filter.models).toEqual(models);
        expect(models.length).toBeGreaterThan(0);
        expect(verdict.filter.languages).toEqual(["python"]);
      }),
    );
  });
});

describe("the device type is the one registered", () => {
  const known = { record: noRecord, checks: [] };
  const onServer = { mode: "worker" as const, capabilities, deviceType: "server" as const };
  it("a heartbeat or pull reporting another device type than the registered one is refused, naming the registered one", () => {
    const agent: Agent = { status: "approved", profile: onServer, approvedBy: "operator", approvedProfile: onServer, ...known };
    expect(deviceTypeRefusal(agent, { deviceType: "server" })).toBeUndefined();
    expect(deviceTypeRefusal(agent, { deviceType: "laptop" })).toMatch(/registered as a server and reports a laptop/);
    expect(deviceTypeRefusal({ status: "pending", profile: onServer, ...known }, { deviceType: "ios" })).toMatch(/registered as a server/);
  });

  it("a profile from before device types were recorded, and a blacklisted agent, are not checked", () => {
    const old = { mode: "worker" as const, capabilities };
    expect(deviceTypeRefusal({ status: "approved", profile: old, approvedBy: "operator", approvedProfile: old, ...known }, { deviceType: "laptop" })).toBeUndefined();
    expect(deviceTypeRefusal({ status: "blacklisted", profile: onServer, reason: "x", ...known }, { deviceType: "laptop" })).toBeUndefined();
  });
});
