import { z } from "zod";

const HOUR_MS = 3_600_000;

/** The epoch an instant falls in: its UTC hour, "2026-12-04T17" (which fits an aggregate id). */
export function epochIdAt(at: Date): string {
  return at.toISOString().slice(0, 13);
}

/** When an epoch begins; its end is the next epoch's beginning. */
export function epochStart(epochId: string): Date {
  return new Date(`${epochId}:00:00.000Z`);
}

export function epochEnd(epochId: string): Date {
  return new Date(epochStart(epochId).getTime() + HOUR_MS);
}

/** An hourly epoch id: a real UTC hour written as epochIdAt writes it (no 24th hour, no February 30th). */
export const EpochId = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}$/, "an hour as YYYY-MM-DDTHH (UTC)")
  .refine((id) => {
    const start = epochStart(id);
    return !Number.isNaN(start.getTime()) && epochIdAt(start) === id;
  }, "not a real UTC hour");
