import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../../src/adapters/packageRoot.js";
import { schemaCatalog } from "../../src/schemas/catalog.js";

describe("published JSON Schemas", () => {
  it("schemas/ holds exactly what the zod schemas generate (run `npm run schemas` after changing them)", async () => {
    for (const [name, schema] of Object.entries(schemaCatalog())) {
      const file = join(packageRoot, "schemas", `${name}.schema.json`);
      expect({ name, schema: JSON.parse(await readFile(file, "utf8")) }).toEqual({ name, schema });
    }
  });
});
