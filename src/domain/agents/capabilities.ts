import { z } from "zod";
import { Language } from "../tasks/decomposition.js";

export const SandboxMode = z.enum(["bwrap", "docker", "none"]);
export type SandboxMode = z.infer<typeof SandboxMode>;

/** What an agent can take: the models its provider runs now (empty: no model reachable), languages, sandbox. */
export const AgentCapabilities = z.object({
  models: z.array(z.string().min(1).max(200)).max(50),
  languages: z.array(Language).min(1).max(2),
  sandbox: SandboxMode,
  resourceClass: z.enum(["cpu", "gpu"]).default("cpu"),
  maxConcurrent: z.number().int().min(1).max(64).default(1),
});
export type AgentCapabilities = z.infer<typeof AgentCapabilities>;
