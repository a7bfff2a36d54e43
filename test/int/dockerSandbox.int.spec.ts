import { describe, expect, it } from "vitest";
import { dockerSandbox, DockerUnavailableError } from "../../src/adapters/executor/dockerSandbox.js";
import { createSandbox, limitsForTimeout } from "../../src/adapters/executor/sandbox.js";

// No Docker engine runs where these tests run: what is tested is that the sandbox says so
// clearly, and never reports a run that did not happen.
const socketPath = "/nonexistent/edgecoder-test/docker.sock";

describe("docker sandbox without an engine", () => {
  it("fails a run with 'no Docker engine reachable at ...'", async () => {
    const run = dockerSandbox({ socketPath }).run("python", "print(1)", limitsForTimeout(5_000));
    await expect(run).rejects.toBeInstanceOf(DockerUnavailableError);
    await expect(run).rejects.toThrow(`no Docker engine reachable at unix://${socketPath}`);
  });

  it("is refused when chosen, so a worker does not start with a sandbox that cannot run anything", async () => {
    await expect(createSandbox({ mode: "docker", agentMode: "worker", sandboxRequired: true, docker: { socketPath } })).rejects.toThrow(
      /sandbox "docker" is refused: no Docker engine reachable at unix:\/\/\/nonexistent\/edgecoder-test\/docker\.sock/,
    );
  });
});
