import { describe, expect, it } from "vitest";
import { defaultSandboxLimits, runMemoryBytes } from "../../src/adapters/executor/sandboxContract.js";
import { containerOptions, defaultDockerImages } from "../../src/adapters/executor/dockerSandbox.js";
import { createSandbox, limitsForTimeout, MAX_WALL_MS, MIN_WALL_MS, WORKER_OUTPUT_BYTES } from "../../src/adapters/executor/sandbox.js";

describe("sandbox limits of a subtask", () => {
  it("take the subtask's timeout as the wall time, with CPU seconds to match", () => {
    expect(limitsForTimeout(2_000)).toMatchObject({ wallMs: 2_000, cpuSeconds: 3, memoryMb: defaultSandboxLimits.memoryMb, outputBytes: WORKER_OUTPUT_BYTES });
    expect(limitsForTimeout(60_000)).toMatchObject({ wallMs: 60_000, cpuSeconds: 61 });
  });

  it("keep a nonsense timeout within bounds", () => {
    expect(limitsForTimeout(0).wallMs).toBe(MIN_WALL_MS);
    expect(limitsForTimeout(86_400_000).wallMs).toBe(MAX_WALL_MS);
    expect(limitsForTimeout(Number.NaN).wallMs).toBe(defaultSandboxLimits.wallMs);
  });
});

describe("choosing a sandbox", () => {
  it("refuses none under SANDBOX_REQUIRED=true, even for an IDE agent", async () => {
    await expect(createSandbox({ mode: "none", agentMode: "ide", sandboxRequired: true })).rejects.toThrow(/SANDBOX_REQUIRED=true/);
  });

  it("refuses none for a mesh worker", async () => {
    await expect(createSandbox({ mode: "none", agentMode: "worker", sandboxRequired: false })).rejects.toThrow(/only for IDE agents/);
  });

  it("allows none for an IDE agent, which then runs code with the wall-time limit", async () => {
    const sandbox = await createSandbox({ mode: "none", agentMode: "ide", sandboxRequired: false });
    expect(sandbox.mode).toBe("none");
    expect(await sandbox.run("python", "print(6 * 7)", limitsForTimeout(5_000))).toMatchObject({ exitCode: 0, stdout: "42\n" });
    const loop = await sandbox.run("javascript", "for (;;) {}", limitsForTimeout(500));
    expect(loop).toMatchObject({ killedFor: "wall-time", exitCode: null });
  });

  it("refuses bwrap when bubblewrap is not installed, and says what to install", async () => {
    await expect(createSandbox({ mode: "bwrap", agentMode: "worker", sandboxRequired: true, searchPath: "/nonexistent" })).rejects.toThrow(
      /sandbox "bwrap" is refused: bwrap, setpriv, prlimit not found on PATH \(install bubblewrap/,
    );
  });

  it("accepts bwrap where it is installed", async () => {
    expect((await createSandbox({ mode: "bwrap", agentMode: "worker", sandboxRequired: true })).mode).toBe("bwrap");
  });
});

describe("docker container options", () => {
  const limits = limitsForTimeout(5_000);

  it("carry the seed's flags (no network, read-only root, half a CPU) with the run's memory bound and process limit", () => {
    const o = containerOptions("python", limits);
    expect(o.Image).toBe(defaultDockerImages.python);
    expect(o.NetworkDisabled).toBe(true);
    expect(o.HostConfig).toMatchObject({
      NetworkMode: "none",
      ReadonlyRootfs: true,
      Memory: runMemoryBytes(limits),
      MemorySwap: runMemoryBytes(limits),
      NanoCpus: 500_000_000,
      PidsLimit: limits.maxProcesses,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
    });
    expect(o.HostConfig?.Binds).toBeUndefined();
    expect(o.HostConfig?.Ulimits).toContainEqual({ Name: "cpu", Soft: limits.cpuSeconds, Hard: limits.cpuSeconds });
  });

  it("give the code a tmpfs work folder, fed on stdin, run as nobody", () => {
    const o = containerOptions("javascript", limits);
    expect(o.Image).toBe(defaultDockerImages.javascript);
    expect(o.HostConfig?.Tmpfs?.["/work"]).toMatch(new RegExp(`size=${limits.scratchMb}m`));
    expect(o.WorkingDir).toBe("/work");
    expect(o.User).toBe("65534:65534");
    expect(o).toMatchObject({ OpenStdin: true, StdinOnce: true, Tty: false });
    expect(o.Cmd?.at(-1)).toMatch(/^cat > \/work\/main\.mjs \|\| exit 125\nnode .*--disallow-code-generation-from-strings main\.mjs & run=\$!/);
  });

  it("use the configured images and CPU share", () => {
    const o = containerOptions("python", limits, { images: { python: "edgecoder/sandbox-python:latest" }, cpus: 1, pidsLimit: 20 });
    expect(o.Image).toBe("edgecoder/sandbox-python:latest");
    expect(o.HostConfig).toMatchObject({ NanoCpus: 1_000_000_000, PidsLimit: 20 });
  });
});
