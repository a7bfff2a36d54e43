import { open, readFile, unlink } from "node:fs/promises";
import { isAlive, processStartTime } from "./processInfo.js";

export class LockHeldError extends Error {
  override readonly name = "LockHeldError";
  constructor(
    message: string,
    readonly holder: number,
  ) {
    super(message);
  }
}

export interface PidLock {
  readonly file: string;
  release(): Promise<void>;
}

/** Who holds a lock file: its pid, if that very process (same start time) still runs. */
export async function lockHolder(file: string): Promise<number | undefined> {
  const text = await readFile(file, "utf8").catch(() => "");
  const [pidText, started] = text.trim().split(/\s+/);
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  // A file written before start times were recorded trusts the pid alone.
  if (started !== undefined && processStartTime(pid) !== started) return undefined;
  return pid;
}

/**
 * One process at a time for a folder: the lock file holds the owner's pid and start time,
 * created exclusively. A file left by a process that is gone (or by an earlier process with a
 * reused pid) is taken over; one held by a live process is refused with its pid.
 */
export async function acquirePidLock(file: string, what: string, pid = process.pid): Promise<PidLock> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(file, "wx", 0o600);
      await handle.writeFile(`${pid} ${processStartTime(pid) ?? ""}\n`);
      await handle.close();
      return { file, release: () => unlink(file).catch(() => undefined) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw new Error(`${what}: cannot create ${file}: ${(err as Error).message}`);
      const holder = await lockHolder(file);
      if (holder !== undefined) throw new LockHeldError(`${what}: process ${holder} holds ${file}`, holder);
      await unlink(file).catch(() => undefined);
    }
  }
  throw new Error(`${what}: cannot take ${file}: other processes keep taking it`);
}
