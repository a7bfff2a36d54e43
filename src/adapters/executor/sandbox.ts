import { runLimited } from "./limitedProcess.js";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SandboxMode } from "../../domain/agents/capabilities.js";
import type { Language } from "../../domain/tasks/decomposition.js";
import { detectCgroupHostOnce, findBwrapTools, runInBwrapWith } from "./bwrapSandbox.js";
import { defaultSandboxLimits, type Sandbox, type SandboxLimits, type SandboxResult } from "./sandboxContract.js";
import { dockerSandbox, type DockerSandboxOptions } from "./dockerSandbox.js";

export type { Sandbox, SandboxLimits, SandboxResult };


export class SandboxRefusedError extends Error {
  override readonly name = "SandboxRefusedError";
}

/** Well under the coordinator's 256 KiB per result field, which also holds a kill note. */
export const WORKER_OUTPUT_BYTES = 64 * 1024;
export const MIN_WALL_MS = 250;
export const MAX_WALL_MS = 10 * 60_000;

/** The subtask's own timeout is the wall limit (the seed ran everything under a fixed 4 s). */
export function limitsForTimeout(timeoutMs: number, base: SandboxLimits = defaultSandboxLimits): SandboxLimits {
  const wallMs = Math.min(MAX_WALL_MS, Math.max(MIN_WALL_MS, Math.floor(Number.isFinite(timeoutMs) ? timeoutMs : base.wallMs)));
  // CPU seconds follow the wall time so a busy loop is stopped by the wall clock, not by a smaller CPU limit.
  return { ...base, wallMs, cpuSeconds: Math.ceil(wallMs / 1000) + 1, outputBytes: Math.min(base.outputBytes, WORKER_OUTPUT_BYTES) };
}

export interface SandboxChoice {
  readonly mode: SandboxMode;
  readonly agentMode: "worker" | "ide";
  /** SANDBOX_REQUIRED=true: never run code unconfined, whatever else is configured. */
  readonly sandboxRequired: boolean;
  readonly docker?: DockerSandboxOptions;
  /** Where bwrap, setpriv and prlimit are looked for; PATH by default. */
  readonly searchPath?: string;
}

/**
 * The sandbox a worker may use, or a refusal that says why: "none" only for an IDE agent and
 * never under SANDBOX_REQUIRED, "bwrap" only where bubblewrap and its helpers are installed,
 * "docker" only with an engine that answers.
 */
export async function createSandbox(choice: SandboxChoice): Promise<Sandbox> {
  switch (choice.mode) {
    case "none":
      if (choice.sandboxRequired) {
        throw new SandboxRefusedError('sandbox "none" is refused: SANDBOX_REQUIRED=true demands a sandbox (set EC_SANDBOX=bwrap or docker)');
      }
      if (choice.agentMode !== "ide") {
        throw new SandboxRefusedError(`sandbox "none" is only for IDE agents (EC_AGENT_MODE=ide); a ${choice.agentMode} runs code from the mesh and needs bwrap or docker`);
      }
      return { mode: "none", run: runUnconfined };
    case "bwrap": {
      const tools = await findBwrapTools(choice.searchPath ?? process.env.PATH ?? "");
      if ("missing" in tools) {
        throw new SandboxRefusedError(
          `sandbox "bwrap" is refused: ${tools.missing.join(", ")} not found on PATH (install bubblewrap and util-linux: apt-get install bubblewrap util-linux), or set EC_SANDBOX=docker`,
        );
      }
      const cgroups = await detectCgroupHostOnce();
      return {
        mode: "bwrap",
        run: (language, code, limits) => runInBwrapWith({ tools, cgroups }, language, code, limits),
        ...(cgroups
          ? {}
          : {
              warning:
                "no cgroup can be made here (not root, or /sys/fs/cgroup is read-only): each sandboxed process is bounded, but not all of a run's processes together (their memory and shared memory)",
            }),
      };
    }
    case "docker": {
      const sandbox = dockerSandbox(choice.docker);
      await sandbox.ping().catch((err: unknown) => {
        throw new SandboxRefusedError(`sandbox "docker" is refused: ${(err as Error).message}`);
      });
      return sandbox;
    }
  }
}

const unconfined: Record<Language, { bin: string; file: string; args: (l: SandboxLimits) => string[] }> = {
  python: { bin: process.env.EC_SANDBOX_PYTHON ?? "python3", file: "main.py", args: () => ["-I", "-S", "main.py"] },
  javascript: {
    bin: process.execPath,
    file: "main.mjs",
    args: (l) => [`--max-old-space-size=${l.memoryMb}`, "--disallow-code-generation-from-strings", "main.mjs"],
  },
};

/**
 * IDE mode: the developer's own code on the developer's own machine, so no isolation, but the
 * same wall time and output limits and a throwaway working folder.
 */
async function runUnconfined(language: Language, code: string, limits: SandboxLimits): Promise<SandboxResult> {
  const interpreter = unconfined[language];
  const work = await mkdtemp(join(tmpdir(), "ec-run-"));
  try {
    await writeFile(join(work, interpreter.file), code);
    return await runLimited(
      interpreter.bin,
      interpreter.args(limits),
      { cwd: work, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: work, LANG: "C.UTF-8", PYTHONHASHSEED: "0" } },
      limits,
      `cannot start ${interpreter.bin}`,
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
