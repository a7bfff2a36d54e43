import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stopLeftover } from "../../src/adapters/process/leftovers.js";
import { acquirePidLock, LockHeldError, lockHolder } from "../../src/adapters/process/pidLock.js";
import { isAlive, processStartTime } from "../../src/adapters/process/processInfo.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ec-lock-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("a folder's lock file", () => {
  it("is taken once: a second taker is refused with the holder's pid, and after release it can be taken again", async () => {
    const file = join(dir, "a.lock");
    const lock = await acquirePidLock(file, "test");
    expect((await readFile(file, "utf8")).trim()).toBe(`${process.pid} ${processStartTime(process.pid)}`);
    await expect(acquirePidLock(file, "test")).rejects.toThrow(LockHeldError);
    await expect(acquirePidLock(file, "test")).rejects.toMatchObject({ holder: process.pid });
    await lock.release();
    await (await acquirePidLock(file, "test")).release();
  });

  it("is taken over from a process that is gone, or from a reused pid (another start time)", async () => {
    const dead = join(dir, "dead.lock");
    await writeFile(dead, "4194305 1\n");
    expect(await lockHolder(dead)).toBeUndefined();
    await (await acquirePidLock(dead, "test")).release();

    const reused = join(dir, "reused.lock");
    await writeFile(reused, `${process.pid} 1\n`);
    expect(await lockHolder(reused)).toBeUndefined();
    await (await acquirePidLock(reused, "test")).release();
  });

  it("counts a zombie as gone: it has ended and only waits to be reaped", async () => {
    // `sleep 0` exits at once, and its parent, exec'd into `sleep 3`, never reaps it.
    const parent = spawn("sh", ["-c", "sleep 0 & echo $!; exec sleep 3"], { stdio: ["ignore", "pipe", "ignore"] });
    const zombie = Number(await new Promise<string>((resolve) => parent.stdout!.once("data", (b: Buffer) => resolve(b.toString()))));
    await new Promise((r) => setTimeout(r, 300));
    expect((await readFile(`/proc/${zombie}/stat`, "utf8")).split(") ")[1]?.[0]).toBe("Z");
    expect(isAlive(zombie)).toBe(false);
    expect(isAlive(parent.pid!)).toBe(true);
    parent.kill("SIGKILL");
  });
});

describe("a process left behind", () => {
  it("is stopped when its command line matches, and left alone when it does not", async () => {
    const tag = `ec-leftover-${process.pid}`;
    const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)", tag], { stdio: "ignore" });
    await new Promise((r) => setTimeout(r, 300));
    expect(await stopLeftover(child.pid!, (cmd) => cmd.includes("nats-server"), () => undefined)).toBe(false);
    expect(isAlive(child.pid!)).toBe(true);
    const lines: string[] = [];
    expect(await stopLeftover(child.pid!, (cmd) => cmd.includes(tag), (l) => lines.push(l))).toBe(true);
    if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once("exit", r));
    expect(isAlive(child.pid!)).toBe(false);
    expect(lines[0]).toMatch(new RegExp(`^stopping process ${child.pid} left behind`));
  });
});
