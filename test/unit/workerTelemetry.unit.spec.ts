import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PowerTelemetry } from "../../src/domain/agents/powerPolicy.js";
import { readPowerTelemetry } from "../../src/adapters/power/telemetry.js";

let root: string;
let power: string;
let thermal: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "ec-sysfs-"));
  power = join(root, "power_supply");
  thermal = join(root, "thermal");
  await mkdir(power);
  await mkdir(thermal);
});
afterEach(() => rm(root, { recursive: true, force: true }));

async function files(dir: string, content: Record<string, string>) {
  await mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(content)) await writeFile(join(dir, name), `${text}\n`);
}

const read = (extra: Parameters<typeof readPowerTelemetry>[0] = {}) =>
  readPowerTelemetry({ powerSupplyDir: power, thermalDir: thermal, loadAverage: () => 1, cpuCount: () => 4, ...extra });

describe("power telemetry of this machine", () => {
  it("given no battery, then a desktop on external power at load/cpus, nominal", async () => {
    const t = await read();
    expect(t).toEqual({ deviceType: "desktop", cpuLoadPct: 25, thermalState: "nominal", onExternalPower: true, lowPowerMode: false, batteryStopPct: 20 });
    expect(PowerTelemetry.parse(t)).toEqual(t);
  });

  it("given a discharging battery and an unplugged adapter, then a laptop on battery with its level", async () => {
    await files(join(power, "BAT0"), { type: "Battery", capacity: "37", status: "Discharging" });
    await files(join(power, "AC"), { type: "Mains", online: "0" });
    expect(await read()).toMatchObject({ deviceType: "laptop", onExternalPower: false, batteryPct: 37 });
  });

  it("given a plugged adapter, then on external power; a configured device type wins", async () => {
    await files(join(power, "BAT0"), { type: "Battery", capacity: "80", status: "Not charging" });
    await files(join(power, "ADP1"), { type: "Mains", online: "1" });
    expect(await read({ deviceType: "server" })).toMatchObject({ deviceType: "server", onExternalPower: true, batteryPct: 80 });
  });

  it("ignores the batteries of attached devices", async () => {
    await files(join(power, "hidpp_battery_0"), { type: "Battery", scope: "Device", capacity: "5", status: "Discharging" });
    expect(await read()).toMatchObject({ deviceType: "desktop", onExternalPower: true });
    expect((await read()).batteryPct).toBeUndefined();
  });

  it("reports the worst thermal zone against its own trip points", async () => {
    await files(join(thermal, "thermal_zone0"), { temp: "50000", trip_point_0_type: "passive", trip_point_0_temp: "80000" });
    expect((await read()).thermalState).toBe("nominal");
    await files(join(thermal, "thermal_zone1"), {
      temp: "92000",
      trip_point_0_type: "passive",
      trip_point_0_temp: "80000",
      trip_point_1_type: "hot",
      trip_point_1_temp: "90000",
      trip_point_2_type: "critical",
      trip_point_2_temp: "105000",
    });
    expect((await read()).thermalState).toBe("serious");
  });

  it("keeps the CPU load within 0..100", async () => {
    expect((await read({ loadAverage: () => 40 })).cpuLoadPct).toBe(100);
    expect((await read({ loadAverage: () => 0 })).cpuLoadPct).toBe(0);
  });

  it("reads the real machine without failing", async () => {
    expect(PowerTelemetry.safeParse(await readPowerTelemetry()).success).toBe(true);
  });
});
