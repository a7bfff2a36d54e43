import { setTimeout as sleep } from "node:timers/promises";
import { isAlive, processCommandLine } from "./processInfo.js";

/**
 * Ends a process a dead node left behind (its nats-server, its Postgres) before a new one takes
 * the same folder: two servers must never share a store. Only a process whose command line
 * matches is touched, so a pid reused by something else is left alone. SIGTERM first, so it
 * closes its files; SIGKILL if it has not gone after `graceMs`.
 */
export async function stopLeftover(pid: number, commandLine: (cmd: string) => boolean, log: (line: string) => void, graceMs = 10_000): Promise<boolean> {
  const cmd = processCommandLine(pid);
  if (cmd === undefined || !commandLine(cmd)) return false;
  log(`stopping process ${pid} left behind by an earlier run (${cmd.slice(0, 120)})`);
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return true;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && processCommandLine(pid) !== undefined && Date.now() < deadline) await sleep(50);
  if (isAlive(pid) && processCommandLine(pid) !== undefined) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
    while (isAlive(pid) && processCommandLine(pid) !== undefined) await sleep(20);
  }
  return true;
}
