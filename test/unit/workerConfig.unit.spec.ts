import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { workerConfigFrom } from "../../src/worker/main.js";

describe("worker configuration from the environment", () => {
  it("given nothing set, then the defaults", () => {
    expect(workerConfigFrom({})).toEqual({
      coordinatorUrl: "http://127.0.0.1:4301",
      ollamaHost: "http://127.0.0.1:11434",
      model: "qwen2.5-coder:1.5b",
      sandbox: "bwrap",
      agentMode: "worker",
      sandboxRequired: false,
      dataDir: resolve(".data/worker"),
    });
  });

  it("given every variable, then each is used", () => {
    const cfg = workerConfigFrom({
      EC_COORDINATOR_URL: "https://coord.example:4301",
      OLLAMA_HOST: "http://gpu-box:11434",
      EC_WORKER_MODEL: "qwen2.5-coder:7b",
      EC_SANDBOX: "docker",
      EC_AGENT_MODE: "ide",
      SANDBOX_REQUIRED: "TRUE",
      EC_WORKER_DATA_DIR: "/tmp/w",
      EC_DEVICE_TYPE: "laptop",
    });
    expect(cfg).toEqual({
      coordinatorUrl: "https://coord.example:4301",
      ollamaHost: "http://gpu-box:11434",
      model: "qwen2.5-coder:7b",
      sandbox: "docker",
      agentMode: "ide",
      sandboxRequired: true,
      dataDir: "/tmp/w",
      deviceType: "laptop",
    });
  });

  it("given bad values, then one message naming each variable to fix", () => {
    expect(() => workerConfigFrom({ EC_COORDINATOR_URL: "nats://x", EC_SANDBOX: "chroot", EC_DEVICE_TYPE: "toaster" })).toThrow(
      /^bad worker configuration: EC_COORDINATOR_URL="nats:\/\/x": must be an http:\/\/ or https:\/\/ URL; EC_SANDBOX="chroot": .*; EC_DEVICE_TYPE="toaster": /,
    );
    expect(() => workerConfigFrom({ SANDBOX_REQUIRED: "maybe" })).toThrow(/SANDBOX_REQUIRED="maybe"/);
  });
});
