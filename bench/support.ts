import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NatsServerProcess } from "../src/adapters/nats/natsServerProcess.js";
import { createTestDatabase } from "../test/support/postgres.js";

export interface Figure {
  name: string;
  value: number;
  unit: string;
  baseline: number;
  ratio: number;
  /** What the figure needs to be read right: how it was measured, what the baseline is. */
  [about: string]: unknown;
}

/** One figure as one JSON line, beside the raw limit measured in the same run. */
export function report(name: string, value: number, unit: string, baseline: number, about: Record<string, unknown> = {}): Figure {
  const fig = { name, value: round(value), unit, baseline: round(baseline), ratio: round(value / baseline, 3), ...about };
  console.log(JSON.stringify(fig));
  return fig;
}

/** A part of the bench that could not be measured, as one JSON line too, so the run goes on. */
export function reportFailure(name: string, err: unknown): void {
  console.log(JSON.stringify({ name, error: err instanceof Error ? err.message : String(err) }));
}

/** The p-th percentile (0-100) of `values`, nearest rank; NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

export async function benchNats(): Promise<{ server: NatsServerProcess; close(): Promise<void> }> {
  const storeDir = await mkdtemp(join(tmpdir(), "ec-bench-nats-"));
  const server = await NatsServerProcess.start({ storeDir });
  return { server, close: async () => (await server.stop(), await rm(storeDir, { recursive: true, force: true })) };
}

/** A fresh, migrated database for one run, the same way the tests make theirs. */
export const benchDatabase = createTestDatabase;

/** Runs `task` over `items` with at most `width` in flight. */
export async function pooled<T>(items: readonly T[], width: number, task: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}
