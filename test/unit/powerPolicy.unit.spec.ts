import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PowerTelemetry, powerPolicy, type PowerDecision } from "../../src/domain/agents/powerPolicy.js";

const telemetry = (t: Partial<PowerTelemetry> & Pick<PowerTelemetry, "deviceType">): PowerTelemetry =>
  PowerTelemetry.parse({ cpuLoadPct: 10, thermalState: "nominal", onExternalPower: false, ...t });

const allowed = { kind: "allowed" };
const blocked = { kind: "blocked" };
const row = (rule: string, coordinatorTasks: object, peerDirectWork: object): PowerDecision =>
  ({ rule, coordinatorTasks, peerDirectWork }) as PowerDecision;

describe("power policy, iOS table (first matching row wins)", () => {
  it("Low Power Mode: coordinator tasks blocked, peer work blocked", () => {
    expect(powerPolicy(telemetry({ deviceType: "ios", lowPowerMode: true, onExternalPower: true, batteryPct: 90 }))).toEqual(
      row("Low Power Mode", blocked, blocked),
    );
  });
  it("External power: both allowed", () => {
    expect(powerPolicy(telemetry({ deviceType: "ios", onExternalPower: true, batteryPct: 5 }))).toEqual(row("External power", allowed, allowed));
  });
  it("Battery at or below the stop level: both blocked", () => {
    expect(powerPolicy(telemetry({ deviceType: "ios", batteryPct: 20, batteryStopPct: 20, iosComputeMode: "lite" }))).toEqual(
      row("Battery <= stop level", blocked, blocked),
    );
  });
  it("On battery, throttled: both blocked", () => {
    expect(powerPolicy(telemetry({ deviceType: "ios", batteryPct: 80, iosComputeMode: "throttled" }))).toEqual(
      row("On battery, throttled", blocked, blocked),
    );
  });
  it("On battery, lite mode: coordinator tasks allowed, peer work blocked", () => {
    expect(powerPolicy(telemetry({ deviceType: "ios", batteryPct: 21, batteryStopPct: 20, iosComputeMode: "lite" }))).toEqual(
      row("On battery, lite mode", allowed, blocked),
    );
  });
  it("a phone that reports no battery level on battery takes no work", () => {
    expect(powerPolicy(telemetry({ deviceType: "ios", iosComputeMode: "lite" })).coordinatorTasks).toEqual(blocked);
  });
});

describe("power policy, desktop/laptop table (first matching row wins)", () => {
  it("Server device type: both allowed, even when hot and busy", () => {
    expect(powerPolicy(telemetry({ deviceType: "server", cpuLoadPct: 99, thermalState: "critical" }))).toEqual(
      row("Server device type", allowed, allowed),
    );
  });
  it("High CPU (>85%): both deferred 5 s, checked before the thermal state", () => {
    const deferred = { kind: "deferred", deferMs: 5000 };
    expect(powerPolicy(telemetry({ deviceType: "desktop", cpuLoadPct: 85.5, thermalState: "critical" }))).toEqual(
      row("High CPU (>85%)", deferred, deferred),
    );
    expect(powerPolicy(telemetry({ deviceType: "desktop", cpuLoadPct: 85 })).rule).toBe("Desktop or AC power");
  });
  it.each(["serious", "critical"] as const)("Thermal %s: both blocked", (thermalState) => {
    expect(powerPolicy(telemetry({ deviceType: "laptop", thermalState, onExternalPower: true }))).toEqual(
      row("Thermal serious/critical", blocked, blocked),
    );
  });
  it("Desktop or AC power: both allowed", () => {
    expect(powerPolicy(telemetry({ deviceType: "desktop", thermalState: "fair" }))).toEqual(row("Desktop or AC power", allowed, allowed));
    expect(powerPolicy(telemetry({ deviceType: "laptop", onExternalPower: true, batteryPct: 3 }))).toEqual(
      row("Desktop or AC power", allowed, allowed),
    );
  });
  it("Laptop battery < 15%: both blocked", () => {
    expect(powerPolicy(telemetry({ deviceType: "laptop", batteryPct: 14.9 }))).toEqual(row("Laptop battery < 15%", blocked, blocked));
  });
  it("Laptop battery 15-40%: small coordinator tasks only, peer work blocked (both ends included)", () => {
    for (const batteryPct of [15, 27, 40]) {
      expect(powerPolicy(telemetry({ deviceType: "laptop", batteryPct }))).toEqual(row("Laptop battery 15-40%", { kind: "smallOnly" }, blocked));
    }
  });
  it("Laptop battery > 40%: coordinator tasks allowed, peer work blocked", () => {
    expect(powerPolicy(telemetry({ deviceType: "laptop", batteryPct: 40.1 }))).toEqual(row("Laptop battery > 40%", allowed, blocked));
  });
});

describe("power policy invariants", () => {
  const anyTelemetry = fc.record({
    deviceType: fc.constantFrom("server", "desktop", "laptop", "ios" as const),
    cpuLoadPct: fc.double({ min: 0, max: 100, noNaN: true }),
    thermalState: fc.constantFrom("nominal", "fair", "serious", "critical" as const),
    onExternalPower: fc.boolean(),
    batteryPct: fc.option(fc.double({ min: 0, max: 100, noNaN: true }), { nil: undefined }),
    lowPowerMode: fc.boolean(),
    iosComputeMode: fc.option(fc.constantFrom("full", "lite", "throttled" as const), { nil: undefined }),
    batteryStopPct: fc.double({ min: 0, max: 100, noNaN: true }),
  });

  it("a device on battery (not a server) never takes peer work", () => {
    fc.assert(
      fc.property(anyTelemetry, (raw) => {
        const t = PowerTelemetry.parse(raw);
        fc.pre(!t.onExternalPower && t.deviceType !== "server" && t.deviceType !== "desktop");
        const peer = powerPolicy(t).peerDirectWork.kind;
        return peer === "blocked" || peer === "deferred";
      }),
    );
  });

  it("peer work is never granted more than coordinator tasks", () => {
    const rank = { blocked: 0, deferred: 1, smallOnly: 2, allowed: 3 } as const;
    fc.assert(
      fc.property(anyTelemetry, (raw) => {
        const d = powerPolicy(PowerTelemetry.parse(raw));
        return rank[d.peerDirectWork.kind] <= rank[d.coordinatorTasks.kind];
      }),
    );
  });
});
