import type { Language } from "../../domain/tasks/decomposition.js";
import type { SandboxMode } from "../../domain/agents/capabilities.js";
import type { KillReason } from "../../domain/worker/iteration.js";

/** Where a worker runs generated code: bubblewrap, a Docker container, or (IDE only) nothing. */
export interface Sandbox {
  readonly mode: SandboxMode;
  run(language: Language, code: string, limits: SandboxLimits): Promise<SandboxResult>;
  /** A weaker confinement than this sandbox normally gives, said once where it is chosen. */
  readonly warning?: string;
}

export interface SandboxLimits {
  readonly wallMs: number;
  readonly cpuSeconds: number;
  /** Memory of one process; all of a run's memory together is bounded by runMemoryBytes(). */
  readonly memoryMb: number;
  readonly maxProcesses: number;
  readonly outputBytes: number;
  /** Size of each writable folder (/work and /tmp), RAM-backed and gone with the run. */
  readonly scratchMb: number;
  /** Size of /dev/shm. */
  readonly shmMb: number;
}

export const defaultSandboxLimits: SandboxLimits = {
  wallMs: 10_000,
  cpuSeconds: 10,
  memoryMb: 256,
  maxProcesses: 32,
  outputBytes: 1 << 20,
  scratchMb: 64,
  shmMb: 8,
};

export interface SandboxResult {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
  /** Set when the sandbox was stopped from outside: too long, too much output, too much memory. */
  readonly killedFor?: KillReason;
}

export const MiB = 1024 * 1024;
/** What the interpreter itself and bwrap's two processes need beside the program's own memory. */
const RUN_OVERHEAD_MB = 64;

/**
 * Everything one run may hold in memory at once, all its processes together: their memory,
 * and every byte written to its RAM-backed folders (/work, /tmp, /dev/shm) or SysV/POSIX
 * shared memory. Enforced by a memory cgroup where one can be made.
 */
export const runMemoryBytes = (l: SandboxLimits) => (l.memoryMb + RUN_OVERHEAD_MB + 2 * l.scratchMb + l.shmMb) * MiB;

