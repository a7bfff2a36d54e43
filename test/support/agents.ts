/** What a simulated worker reports: a server on mains power with nothing to do. */
export const idlePower = { deviceType: "server", cpuLoadPct: 5, thermalState: "nominal", onExternalPower: true } as const;

/** A simulated worker's capabilities: the node's default model, Python, bubblewrap. */
export const pythonCapabilities = { models: ["qwen2.5-coder:1.5b"], languages: ["python"], sandbox: "bwrap" } as const;
