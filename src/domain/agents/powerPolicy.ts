import { z } from "zod";
import { assertNever } from "../decider.js";

/** What kind of machine an agent runs on; the power policy's rows depend on it. */
export const DeviceType = z.enum(["server", "desktop", "laptop", "ios"]);
export type DeviceType = z.infer<typeof DeviceType>;

/** Power telemetry a worker reports with each heartbeat and pull. */
export const PowerTelemetry = z.object({
  deviceType: DeviceType,
  cpuLoadPct: z.number().min(0).max(100),
  thermalState: z.enum(["nominal", "fair", "serious", "critical"]),
  onExternalPower: z.boolean(),
  batteryPct: z.number().min(0).max(100).optional(),
  /** iOS: Low Power Mode is on. */
  lowPowerMode: z.boolean().default(false),
  /** iOS: the compute mode the app runs in while on battery. */
  iosComputeMode: z.enum(["full", "lite", "throttled"]).optional(),
  /** iOS: the battery level at or below which the device stops taking work. */
  batteryStopPct: z.number().min(0).max(100).default(20),
});
export type PowerTelemetry = z.infer<typeof PowerTelemetry>;

/** What a device may take: everything, only small subtasks, later (after deferMs), or nothing. */
export type WorkAdmission =
  | { readonly kind: "allowed" }
  | { readonly kind: "smallOnly" }
  | { readonly kind: "deferred"; readonly deferMs: number }
  | { readonly kind: "blocked" };

export interface PowerDecision {
  /** Subtasks pulled from a coordinator. */
  readonly coordinatorTasks: WorkAdmission;
  /** Direct work offered by a peer. */
  readonly peerDirectWork: WorkAdmission;
  /** The table row that decided, in the architecture seed's words. */
  readonly rule: string;
}

export const HIGH_CPU_PCT = 85;
export const HIGH_CPU_DEFER_MS = 5_000;
export const LAPTOP_BLOCK_BELOW_PCT = 15;
export const LAPTOP_SMALL_ONLY_UP_TO_PCT = 40;

const allowed: WorkAdmission = { kind: "allowed" };
const blocked: WorkAdmission = { kind: "blocked" };
const decision = (rule: string, coordinatorTasks: WorkAdmission, peerDirectWork: WorkAdmission): PowerDecision => ({
  rule,
  coordinatorTasks,
  peerDirectWork,
});

/**
 * iOS, first matching row wins:
 * Low Power Mode → blocked/blocked; external power → allowed/allowed; battery at or below the
 * stop level → blocked/blocked; on battery, lite mode → allowed/blocked; on battery otherwise
 * (throttled, or no mode reported) → blocked/blocked.
 */
function iosPolicy(t: PowerTelemetry): PowerDecision {
  if (t.lowPowerMode) return decision("Low Power Mode", blocked, blocked);
  if (t.onExternalPower) return decision("External power", allowed, allowed);
  if (t.batteryPct === undefined || t.batteryPct <= t.batteryStopPct) return decision("Battery <= stop level", blocked, blocked);
  if (t.iosComputeMode === "lite") return decision("On battery, lite mode", allowed, blocked);
  // A full mode on battery is not in the seed's table; it is treated like throttled, the
  // conservative reading for a phone's battery.
  return decision("On battery, throttled", blocked, blocked);
}

/**
 * Desktop, laptop and server, first matching row wins:
 * server → allowed; CPU over 85% → deferred 5 s; thermal serious/critical → blocked; desktop or
 * AC power → allowed; laptop battery under 15% → blocked; 15–40% → small coordinator tasks
 * only, no peer work; over 40% → coordinator tasks, no peer work.
 */
function computerPolicy(t: PowerTelemetry): PowerDecision {
  if (t.deviceType === "server") return decision("Server device type", allowed, allowed);
  if (t.cpuLoadPct > HIGH_CPU_PCT) {
    const later: WorkAdmission = { kind: "deferred", deferMs: HIGH_CPU_DEFER_MS };
    return decision("High CPU (>85%)", later, later);
  }
  if (t.thermalState === "serious" || t.thermalState === "critical") return decision("Thermal serious/critical", blocked, blocked);
  if (t.deviceType === "desktop" || t.onExternalPower) return decision("Desktop or AC power", allowed, allowed);
  const battery = t.batteryPct ?? 0;
  if (battery < LAPTOP_BLOCK_BELOW_PCT) return decision("Laptop battery < 15%", blocked, blocked);
  if (battery <= LAPTOP_SMALL_ONLY_UP_TO_PCT) return decision("Laptop battery 15-40%", { kind: "smallOnly" }, blocked);
  return decision("Laptop battery > 40%", allowed, blocked);
}

/** The power policy of the architecture seed, as a pure function of the reported telemetry. */
export function powerPolicy(t: PowerTelemetry): PowerDecision {
  switch (t.deviceType) {
    case "ios":
      return iosPolicy(t);
    case "server":
    case "desktop":
    case "laptop":
      return computerPolicy(t);
    default:
      return assertNever(t.deviceType);
  }
}
