import { readdir, readFile } from "node:fs/promises";
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import type { PowerTelemetry } from "../../domain/agents/powerPolicy.js";

export type DeviceType = PowerTelemetry["deviceType"];

export interface TelemetrySources {
  /** From configuration (EC_DEVICE_TYPE); otherwise laptop when a battery is present, else desktop. */
  readonly deviceType?: DeviceType;
  readonly powerSupplyDir?: string;
  readonly thermalDir?: string;
  readonly loadAverage?: () => number;
  readonly cpuCount?: () => number;
}

const readText = (file: string) => readFile(file, "utf8").then((t) => t.trim(), () => undefined);
const entries = (dir: string) => readdir(dir).catch(() => [] as string[]);

interface PowerSupplies {
  readonly batteryPct?: number;
  readonly onExternalPower: boolean;
  readonly hasBattery: boolean;
}

/** /sys/class/power_supply: batteries report capacity and status, mains and USB adapters report online. */
export async function readPowerSupplies(dir = "/sys/class/power_supply"): Promise<PowerSupplies> {
  const batteries: { pct?: number; charging: boolean }[] = [];
  let adapterOnline: boolean | undefined;
  for (const name of await entries(dir)) {
    const type = await readText(join(dir, name, "type"));
    if (type === "Battery") {
      if ((await readText(join(dir, name, "scope"))) === "Device") continue; // a mouse or a headset, not this machine
      const capacity = Number(await readText(join(dir, name, "capacity")));
      const status = await readText(join(dir, name, "status"));
      batteries.push({ ...(Number.isFinite(capacity) ? { pct: Math.min(100, Math.max(0, capacity)) } : {}), charging: status !== "Discharging" });
    } else if (type === "Mains" || type === "USB" || type === "USB_C") {
      const online = (await readText(join(dir, name, "online"))) === "1";
      adapterOnline = (adapterOnline ?? false) || online;
    }
  }
  if (batteries.length === 0) return { hasBattery: false, onExternalPower: adapterOnline ?? true };
  const pcts = batteries.flatMap((b) => (b.pct === undefined ? [] : [b.pct]));
  const batteryPct = pcts.length > 0 ? Math.round(pcts.reduce((a, b) => a + b, 0) / pcts.length) : undefined;
  return {
    hasBattery: true,
    onExternalPower: adapterOnline ?? batteries.some((b) => b.charging),
    ...(batteryPct === undefined ? {} : { batteryPct }),
  };
}

const THERMAL_ORDER = ["nominal", "fair", "serious", "critical"] as const;
type ThermalState = (typeof THERMAL_ORDER)[number];
const TRIP_STATE: Record<string, ThermalState> = { passive: "fair", active: "nominal", hot: "serious", critical: "critical" };

/**
 * The worst state over the thermal zones, judged against each zone's own trip points: past
 * its passive trip (the kernel throttles) is fair, past hot serious, past critical critical.
 */
export async function readThermalState(dir = "/sys/class/thermal"): Promise<ThermalState> {
  let worst = 0;
  for (const zone of (await entries(dir)).filter((n) => n.startsWith("thermal_zone"))) {
    const temp = Number(await readText(join(dir, zone, "temp")));
    if (!Number.isFinite(temp)) continue;
    for (const file of await entries(join(dir, zone))) {
      const trip = /^trip_point_(\d+)_type$/.exec(file);
      if (!trip) continue;
      const state = TRIP_STATE[(await readText(join(dir, zone, file))) ?? ""];
      const at = Number(await readText(join(dir, zone, `trip_point_${trip[1]}_temp`)));
      if (state && Number.isFinite(at) && at > 0 && temp >= at) worst = Math.max(worst, THERMAL_ORDER.indexOf(state));
    }
  }
  return THERMAL_ORDER[worst] ?? "nominal";
}

/** This machine's power telemetry, for heartbeats and pulls. */
export async function readPowerTelemetry(sources: TelemetrySources = {}): Promise<PowerTelemetry> {
  const [supplies, thermalState] = await Promise.all([readPowerSupplies(sources.powerSupplyDir), readThermalState(sources.thermalDir)]);
  const load = (sources.loadAverage ?? (() => loadavg()[0] ?? 0))();
  const cpus = Math.max(1, (sources.cpuCount ?? availableParallelism)());
  return {
    deviceType: sources.deviceType ?? (supplies.hasBattery ? "laptop" : "desktop"),
    cpuLoadPct: Math.min(100, Math.max(0, Math.round((load / cpus) * 1000) / 10)),
    thermalState,
    onExternalPower: supplies.onExternalPower,
    ...(supplies.batteryPct === undefined ? {} : { batteryPct: supplies.batteryPct }),
    lowPowerMode: false,
    batteryStopPct: 20,
  };
}
