import { AggregatorRegistry, collectDefaultMetrics, Counter, Histogram, Registry, type MetricObjectWithValues, type MetricValue } from "prom-client";

/** The instruments of the work a process does: programs run in its sandbox and calls to its model. */
export interface WorkMetrics {
  /** Programs this process ran in its sandbox, by how they ended. */
  readonly sandboxRuns: Counter<"mode" | "outcome">;
  /** Calls to the model server (Ollama), by model and outcome, and how long they took. */
  readonly modelCalls: Counter<"model" | "outcome">;
  readonly modelDuration: Histogram<"model" | "outcome">;
}

/**
 * Another process's metrics, as prom-client's getMetricsAsJSON gives them (the node's worker),
 * less what JSON cannot carry (each metric's collect function, which merging never calls).
 */
export type MetricsSnapshot = Omit<MetricObjectWithValues<MetricValue<string>>, "collect">[];
export type MetricsSource = () => Promise<MetricsSnapshot>;

/**
 * The node's instruments, on a registry of its own: two nodes in one process (tests) never
 * count into each other, and nothing is left in prom-client's global registry.
 */
export interface NodeMetrics extends WorkMetrics {
  readonly registry: Registry;
  /** Every answered request, by gateway, method, route pattern (never the raw URL) and status. */
  readonly httpRequests: Counter<"service" | "method" | "route" | "status">;
  readonly httpDuration: Histogram<"service" | "method" | "route" | "status">;
  /** Processes of the node whose metrics /metrics shows with its own (the worker it forks). */
  readonly sources: Set<MetricsSource>;
}

/** The route label of a request no route matched: one series, whatever URL was asked. */
export const UNMATCHED_ROUTE = "unmatched";

function workMetrics(registers: Registry[], where: string): WorkMetrics {
  return {
    sandboxRuns: new Counter({ name: "ec_sandbox_runs_total", help: `Programs run in the sandbox (${where}), by sandbox mode and outcome`, labelNames: ["mode", "outcome"], registers }),
    modelCalls: new Counter({ name: "ec_model_calls_total", help: `Calls to the model server (${where}), by model and outcome`, labelNames: ["model", "outcome"], registers }),
    modelDuration: new Histogram({
      name: "ec_model_call_duration_seconds",
      help: `Time a model call took (${where}), by model and outcome`,
      labelNames: ["model", "outcome"],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    }),
  };
}

export function nodeMetrics(opts: { processMetrics?: boolean } = {}): NodeMetrics {
  const registry = new Registry();
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    sources: new Set(),
    httpRequests: new Counter({ name: "ec_http_requests_total", help: "HTTP requests answered, by gateway, method, route pattern and status", labelNames: ["service", "method", "route", "status"], registers }),
    httpDuration: new Histogram({
      name: "ec_http_request_duration_seconds",
      help: "Time from a request's arrival to its answer, by gateway, method, route pattern and status",
      labelNames: ["service", "method", "route", "status"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    ...workMetrics(registers, "result checks and escalation answers of the node, or the worker's subtasks where process=worker"),
  };
}

/**
 * The worker process's instruments. Every series carries process="worker", so beside the node's
 * own (the coordinator's result checks) they stay apart when /metrics shows both.
 */
export function workerMetrics(): WorkMetrics & { readonly registry: Registry } {
  const registry = new Registry();
  registry.setDefaultLabels({ process: "worker" });
  return { registry, ...workMetrics([registry], "the worker's subtasks") };
}

/**
 * The text /metrics answers: the node's registry and, merged into it, what each source gave.
 * A source that fails (a worker being restarted) leaves its series out of this scrape rather
 * than failing it.
 */
export async function exposition(metrics: Pick<NodeMetrics, "registry" | "sources">): Promise<string> {
  if (metrics.sources.size === 0) return metrics.registry.metrics();
  const others = await Promise.all([...metrics.sources].map((source) => source().catch(() => [] as MetricsSnapshot)));
  const snapshots: MetricsSnapshot[] = [await metrics.registry.getMetricsAsJSON(), ...others.filter((s) => s.length > 0)];
  const merged = AggregatorRegistry.aggregate(snapshots as MetricObjectWithValues<MetricValue<string>>[][]);
  return merged.metrics();
}
