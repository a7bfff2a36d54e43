import { agentsProjector } from "./agents/agentsProjector.js";
import { balancesProjector } from "./credits/balancesProjector.js";
import { economyProjector } from "./economy/economyProjector.js";
import type { Projector } from "./projector.js";
import { tasksProjector } from "./tasks/tasksProjector.js";

/** Every projection this node maintains, by name. */
export const projectors: readonly Projector[] = [balancesProjector, tasksProjector, agentsProjector, economyProjector];

export function projectorNamed(name: string): Projector {
  const p = projectors.find((x) => x.name === name);
  if (!p) throw new Error(`unknown projection ${name}; known: ${projectors.map((x) => x.name).join(", ")}`);
  return p;
}
