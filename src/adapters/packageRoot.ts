import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The project folder, found the same way from src/ (tests) and dist/ (the built CLI). */
export const packageRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === "edgecoder") return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find the edgecoder package folder");
    dir = parent;
  }
})();
