import { spawn, type SpawnOptions } from "node:child_process";
import type { Writable } from "node:stream";
import type { SandboxLimits, SandboxResult } from "./sandboxContract.js";

export interface LimitedProcessOptions extends Omit<SpawnOptions, "detached" | "stdio" | "env"> {
  /** The whole environment of the program: nothing of this process's is passed on. */
  readonly env: Readonly<Record<string, string>>;
  /** Data written to file descriptors 3, 4, ... of the program, each then closed. */
  readonly inputs?: readonly (string | Buffer)[];
}

/**
 * Runs a program in a process group of its own and kills the whole group at the wall time or when
 * it prints more than the output limit; what it printed is kept up to that limit. Output is
 * decoded once at the end, so a character split across two reads stays whole.
 */
export function runLimited(
  command: string,
  args: readonly string[],
  options: LimitedProcessOptions,
  limits: Pick<SandboxLimits, "wallMs" | "outputBytes">,
  cannotStart: string,
): Promise<SandboxResult> {
  const { inputs = [], env, ...spawnOptions } = options;
  return new Promise<SandboxResult>((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, {
      ...spawnOptions,
      env: { ...env },
      detached: true,
      stdio: ["ignore", "pipe", "pipe", ...inputs.map(() => "pipe" as const)],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let printed = 0;
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
    const take = (chunk: Buffer, into: Buffer[]) => {
      into.push(chunk);
      printed += chunk.length;
      if (printed > limits.outputBytes) kill("output");
    };
    child.stdout!.on("data", (c: Buffer) => take(c, out));
    child.stderr!.on("data", (c: Buffer) => take(c, err));
    inputs.forEach((data, i) => {
      const pipe = child.stdio[3 + i] as Writable;
      // A program that ends before reading its input closes the pipe: that is its business.
      pipe.on("error", () => undefined);
      pipe.end(data);
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`${cannotStart}: ${e.message}`));
    });
    child.on("close", (exitCode, signal) => {
      clearTimeout(timer);
      resolve({
        exitCode,
        signal,
        stdout: Buffer.concat(out).subarray(0, limits.outputBytes).toString("utf8"),
        stderr: Buffer.concat(err).subarray(0, limits.outputBytes).toString("utf8"),
        durationMs: Math.round(performance.now() - started),
        ...(killedFor ? { killedFor } : {}),
      });
    });
  });
}
