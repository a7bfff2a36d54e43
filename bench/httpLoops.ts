/** What the benches' HTTP client loops share: latency percentiles and the GET /health raw limit. */
import { percentile } from "./support.js";

export interface Latency {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface HealthRun {
  readonly requests: number;
  readonly ms: number;
  readonly latency: Latency;
}

export const latency = (ms: readonly number[]): Latency => ({ count: ms.length, p50Ms: percentile(ms, 50), p99Ms: percentile(ms, 99) });

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Raw limit: `clients` keep-alive loops on GET /health of the server at `url` for `ms`. */
export async function healthLoops(url: string, clients: number, ms: number): Promise<HealthRun> {
  const took: number[] = [];
  const started = performance.now();
  const end = started + ms;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        const res = await fetch(`${url}/health`);
        await res.arrayBuffer();
        if (!res.ok) throw new Error(`GET /health: ${res.status}`);
        took.push(performance.now() - t0);
      }
    }),
  );
  return { requests: took.length, ms: performance.now() - started, latency: latency(took) };
}
