import type { ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import type { Registry } from "prom-client";
import { z } from "zod";
import type { MetricsSnapshot } from "./registry.js";

/**
 * A forked process's metrics, asked for over its IPC channel when /metrics is scraped: the
 * worker counts its own sandbox runs and model calls, and the node shows them with its own
 * without the worker opening a port of its own.
 */

const MetricsRequest = z.object({ kind: z.literal("metrics?"), id: z.string().max(100) });

const Label = z.union([z.string().max(1000), z.number()]);
/** A child's answer is checked like any input: bounded, and only the shape prom-client merges. */
const MetricsAnswer = z.object({
  kind: z.literal("metrics"),
  id: z.string().max(100),
  metrics: z
    .array(
      z.object({
        name: z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,199}$/),
        help: z.string().max(1000),
        type: z.enum(["counter", "gauge", "histogram", "summary"]),
        aggregator: z.enum(["sum", "first", "min", "max", "average", "omit"]),
        values: z.array(z.object({ value: z.number(), labels: z.record(z.string().max(100), Label), metricName: z.string().max(200).optional() })).max(10_000),
      }),
    )
    .max(500),
});

/** In the forked process: answers each request for metrics with the registry's current values. */
export function answerMetricsRequests(registry: Registry, proc: NodeJS.Process = process): void {
  proc.on("message", (message: unknown) => {
    const request = MetricsRequest.safeParse(message);
    if (!request.success || !proc.send) return;
    void registry.getMetricsAsJSON().then((metrics) => proc.send?.({ kind: "metrics", id: request.data.id, metrics }));
  });
}

/** In the parent: the child's metrics, or a rejection when it does not answer in time or answers nonsense. */
export function requestMetrics(child: ChildProcess, timeoutMs = 1_000): Promise<MetricsSnapshot> {
  return new Promise((resolve, reject) => {
    if (!child.connected) return reject(new Error("the process has no IPC channel open"));
    const id = randomUUID();
    const done = () => {
      clearTimeout(timer);
      child.off("message", onMessage);
      child.off("exit", onExit);
    };
    const onMessage = (message: unknown) => {
      const answer = MetricsAnswer.safeParse(message);
      if (!answer.success || answer.data.id !== id) return;
      done();
      // prom-client's typings declare `type` a numeric enum; at run time it is the string checked above.
      resolve(answer.data.metrics as unknown as MetricsSnapshot);
    };
    const onExit = () => {
      done();
      reject(new Error("the process exited before it answered"));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no metrics from the process within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on("message", onMessage);
    child.once("exit", onExit);
    child.send({ kind: "metrics?", id }, (err) => {
      if (err) {
        done();
        reject(err);
      }
    });
  });
}
