import { balancesProjector } from "./credits/balancesProjector.js";
import type { Projector } from "./projector.js";

/** Every projection this node maintains, by name. */
export const projectors: readonly Projector[] = [balancesProjector];

export function projectorNamed(name: string): Projector {
  const p = projectors.find((x) => x.name === name);
  if (!p) throw new Error(`unknown projection ${name}; known: ${projectors.map((x) => x.name).join(", ")}`);
  return p;
}
