import { openSync, closeSync } from "node:fs";

/**
 * Fault injection for crash tests: where EC_CRASH_POINT names this point, the process kills
 * itself with SIGKILL right here, as a power cut or the OOM killer would, once: the file
 * EC_CRASH_ONCE_FILE is created exclusively first, so the process started again runs on.
 * Without both variables this does nothing.
 */
export function crashPoint(name: string, env: NodeJS.ProcessEnv = process.env): void {
  if (env.EC_CRASH_POINT !== name || !env.EC_CRASH_ONCE_FILE) return;
  try {
    closeSync(openSync(env.EC_CRASH_ONCE_FILE, "wx"));
  } catch {
    return;
  }
  process.kill(process.pid, "SIGKILL");
}
