import { collectDefaultMetrics, Counter, Histogram, Registry } from "prom-client";

/**
 * The node's instruments, on a registry of its own: two nodes in one process (tests) never
 * count into each other, and nothing is left in prom-client's global registry.
 */
export interface NodeMetrics {
  readonly registry: Registry;
  /** Every answered request, by gateway, method, route pattern (never the raw URL) and status. */
  readonly httpRequests: Counter<"service" | "method" | "route" | "status">;
  readonly httpDuration: Histogram<"service" | "method" | "route" | "status">;
  /** Programs this process ran in its sandbox (result checks, escalation answers), by how they ended. */
  readonly sandboxRuns: Counter<"mode" | "outcome">;
  /** Calls to the model server (Ollama), by model and outcome, and how long they took. */
  readonly modelCalls: Counter<"model" | "outcome">;
  readonly modelDuration: Histogram<"model" | "outcome">;
}

/** The route label of a request no route matched: one series, whatever URL was asked. */
export const UNMATCHED_ROUTE = "unmatched";

export function nodeMetrics(opts: { processMetrics?: boolean } = {}): NodeMetrics {
  const registry = new Registry();
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    httpRequests: new Counter({ name: "ec_http_requests_total", help: "HTTP requests answered, by gateway, method, route pattern and status", labelNames: ["service", "method", "route", "status"], registers }),
    httpDuration: new Histogram({
      name: "ec_http_request_duration_seconds",
      help: "Time from a request's arrival to its answer, by gateway, method, route pattern and status",
      labelNames: ["service", "method", "route", "status"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    sandboxRuns: new Counter({ name: "ec_sandbox_runs_total", help: "Programs run in this node's sandbox, by sandbox mode and outcome", labelNames: ["mode", "outcome"], registers }),
    modelCalls: new Counter({ name: "ec_model_calls_total", help: "Calls to the model server, by model and outcome", labelNames: ["model", "outcome"], registers }),
    modelDuration: new Histogram({
      name: "ec_model_call_duration_seconds",
      help: "Time a model call took, by model and outcome",
      labelNames: ["model", "outcome"],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    }),
  };
}
