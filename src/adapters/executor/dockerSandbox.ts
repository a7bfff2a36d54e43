import { PassThrough } from "node:stream";
import Docker from "dockerode";
import type { Language } from "../../domain/tasks/decomposition.js";
import type { SandboxLimits, SandboxResult } from "./bwrapSandbox.js";
import type { Sandbox } from "./sandbox.js";

export const defaultDockerImages: Record<Language, string> = { python: "python:3.12-alpine", javascript: "node:20-alpine" };

export interface DockerSandboxOptions {
  /** The engine's unix socket; without it dockerode follows DOCKER_HOST, else /var/run/docker.sock. */
  readonly socketPath?: string;
  readonly images?: Partial<Record<Language, string>>;
  readonly cpus?: number;
  readonly pidsLimit?: number;
}

export class DockerUnavailableError extends Error {
  override readonly name = "DockerUnavailableError";
}

const WORK_DIR = "/work";
/** nobody: the code never runs as the image's root. */
const SANDBOX_USER = "65534:65534";

// The code arrives on stdin and is written to the tmpfs first, so the root can stay read-only,
// nothing is bind-mounted from the host, and tracebacks name a real file.
const commands: Record<Language, (l: SandboxLimits) => string> = {
  python: () => `cat > ${WORK_DIR}/main.py && exec python3 -I -S main.py`,
  javascript: (l) => `cat > ${WORK_DIR}/main.js && exec node --max-old-space-size=${l.memoryMb} --disallow-code-generation-from-strings main.js`,
};

/**
 * The container for one run: the seed's flags (--network=none --read-only --memory=256m
 * --cpus=0.50 --pids-limit=50) plus no capabilities, no privilege gain, an unprivileged user and
 * a small tmpfs as the only writable place.
 */
export function containerOptions(language: Language, limits: SandboxLimits, opts: DockerSandboxOptions = {}): Docker.ContainerCreateOptions {
  const memory = limits.memoryMb * 1024 * 1024;
  return {
    Image: opts.images?.[language] ?? defaultDockerImages[language],
    Cmd: ["/bin/sh", "-c", commands[language](limits)],
    User: SANDBOX_USER,
    WorkingDir: WORK_DIR,
    Env: ["HOME=/work", "LANG=C.UTF-8", "PATH=/usr/local/bin:/usr/bin:/bin"],
    Labels: { "edgecoder.sandbox": language },
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: true,
    StdinOnce: true,
    Tty: false,
    NetworkDisabled: true,
    HostConfig: {
      NetworkMode: "none",
      ReadonlyRootfs: true,
      Memory: memory,
      MemorySwap: memory,
      NanoCpus: Math.round((opts.cpus ?? 0.5) * 1e9),
      PidsLimit: opts.pidsLimit ?? 50,
      Tmpfs: { [WORK_DIR]: "rw,exec,nosuid,nodev,size=16m,mode=1777", "/tmp": "rw,noexec,nosuid,nodev,size=16m,mode=1777" },
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      Ulimits: [
        { Name: "cpu", Soft: limits.cpuSeconds, Hard: limits.cpuSeconds },
        { Name: "nofile", Soft: 64, Hard: 64 },
        { Name: "core", Soft: 0, Hard: 0 },
      ],
      Init: true,
      AutoRemove: false,
    },
  };
}

const engineAddress = (socketPath: string | undefined) =>
  socketPath ? `unix://${socketPath}` : (process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock");

/** Runs code in a fresh container per run, removed afterwards; killed at the wall time or when it prints too much. */
export function dockerSandbox(opts: DockerSandboxOptions = {}): Sandbox & { ping(): Promise<void> } {
  const docker = opts.socketPath ? new Docker({ socketPath: opts.socketPath }) : new Docker();
  const where = engineAddress(opts.socketPath);

  const reachable = async () => {
    try {
      await docker.ping();
    } catch (err) {
      throw new DockerUnavailableError(`no Docker engine reachable at ${where}: ${(err as Error).message}`);
    }
  };

  const pull = async (image: string) => {
    const progress = await docker.pull(image);
    await new Promise<void>((resolve, reject) => docker.modem.followProgress(progress, (err: Error | null) => (err ? reject(err) : resolve())));
  };

  const create = async (options: Docker.ContainerCreateOptions) => {
    try {
      return await docker.createContainer(options);
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
      await pull(options.Image!);
      return docker.createContainer(options);
    }
  };

  return {
    mode: "docker",
    ping: reachable,
    async run(language: Language, code: string, limits: SandboxLimits): Promise<SandboxResult> {
      await reachable();
      const container = await create(containerOptions(language, limits, opts));
      try {
        const io = await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
        const out = new PassThrough();
        const err = new PassThrough();
        docker.modem.demuxStream(io, out, err);
        let stdout = "";
        let stderr = "";
        let killedFor: SandboxResult["killedFor"];
        const kill = (why: NonNullable<SandboxResult["killedFor"]>) => {
          killedFor ??= why;
          container.kill().catch(() => undefined);
        };
        const take = (chunk: Buffer, into: "out" | "err") => {
          if (into === "out") stdout += chunk.toString();
          else stderr += chunk.toString();
          if (stdout.length + stderr.length > limits.outputBytes) kill("output");
        };
        out.on("data", (c: Buffer) => take(c, "out"));
        err.on("data", (c: Buffer) => take(c, "err"));
        // The exit can be reported before the last output has been read from the attach stream.
        const drained = new Promise<void>((resolve) => {
          io.on("end", resolve);
          io.on("error", () => resolve());
        });
        const started = performance.now();
        await container.start();
        const timer = setTimeout(() => kill("wall-time"), limits.wallMs);
        try {
          io.end(code);
          const { StatusCode } = (await container.wait()) as { StatusCode: number };
          await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
          return {
            exitCode: killedFor ? null : StatusCode,
            signal: killedFor ? "SIGKILL" : null,
            stdout: stdout.slice(0, limits.outputBytes),
            stderr: stderr.slice(0, limits.outputBytes),
            durationMs: Math.round(performance.now() - started),
            ...(killedFor ? { killedFor } : {}),
          };
        } finally {
          clearTimeout(timer);
        }
      } finally {
        await container.remove({ force: true }).catch(() => undefined);
      }
    },
  };
}
