import type { Sandbox } from "../executor/sandboxContract.js";
import { ModelUnavailableError, type ModelProvider } from "../models/ollamaProvider.js";
import type { WorkMetrics } from "./registry.js";

/** The provider, each generate() counted by outcome (ok, unavailable, error) and timed. */
export function countedModel(provider: ModelProvider, metrics: Pick<WorkMetrics, "modelCalls" | "modelDuration">): ModelProvider {
  return {
    model: provider.model,
    available: () => provider.available(),
    async generate(prompt, opts) {
      const started = process.hrtime.bigint();
      let outcome = "ok";
      try {
        return await provider.generate(prompt, opts);
      } catch (err) {
        outcome = err instanceof ModelUnavailableError ? "unavailable" : "error";
        throw err;
      } finally {
        const labels = { model: provider.model, outcome };
        metrics.modelCalls.inc(labels);
        metrics.modelDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
      }
    },
  };
}

/**
 * The sandbox, each run counted by how it ended: "passed" (exit 0), "failed" (another exit or a
 * signal), "killed-<reason>" when stopped from outside (wall-time, output, memory), "error"
 * when it could not run at all.
 */
export function countedSandbox(sandbox: Sandbox, metrics: Pick<WorkMetrics, "sandboxRuns">): Sandbox {
  return {
    mode: sandbox.mode,
    ...(sandbox.warning !== undefined ? { warning: sandbox.warning } : {}),
    async run(language, code, limits) {
      try {
        const result = await sandbox.run(language, code, limits);
        const outcome = result.killedFor ? `killed-${result.killedFor}` : result.exitCode === 0 ? "passed" : "failed";
        metrics.sandboxRuns.inc({ mode: sandbox.mode, outcome });
        return result;
      } catch (err) {
        metrics.sandboxRuns.inc({ mode: sandbox.mode, outcome: "error" });
        throw err;
      }
    },
  };
}
