import { spawn, type SpawnOptions } from "node:child_process";
import type { SandboxLimits, SandboxResult } from "./bwrapSandbox.js";

/**
 * Runs a program in a process group of its own and kills the whole group at the wall time or when
 * it prints more than the output limit; what it printed is kept up to that limit.
 */
export function runLimited(
  command: string,
  args: readonly string[],
  options: Omit<SpawnOptions, "detached" | "stdio">,
  limits: Pick<SandboxLimits, "wallMs" | "outputBytes">,
  cannotStart: string,
): Promise<SandboxResult> {
  return new Promise<SandboxResult>((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { ...options, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let killedFor: SandboxResult["killedFor"];
    const kill = (why: NonNullable<SandboxResult["killedFor"]>) => {
      killedFor ??= why;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => kill("wall-time"), limits.wallMs);
    const take = (chunk: Buffer, into: "out" | "err") => {
      if (into === "out") stdout += chunk.toString();
      else stderr += chunk.toString();
      if (stdout.length + stderr.length > limits.outputBytes) kill("output");
    };
    child.stdout!.on("data", (c: Buffer) => take(c, "out"));
    child.stderr!.on("data", (c: Buffer) => take(c, "err"));
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`${cannotStart}: ${err.message}`));
    });
    child.on("close", (exitCode, signal) => {
      clearTimeout(timer);
      resolve({
        exitCode,
        signal,
        stdout: stdout.slice(0, limits.outputBytes),
        stderr: stderr.slice(0, limits.outputBytes),
        durationMs: Math.round(performance.now() - started),
        ...(killedFor ? { killedFor } : {}),
      });
    });
  });
}
