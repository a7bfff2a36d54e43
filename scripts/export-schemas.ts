import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { packageRoot } from "../src/adapters/packageRoot.js";
import { schemaCatalog } from "../src/schemas/catalog.js";

for (const [name, schema] of Object.entries(schemaCatalog())) {
  const file = join(packageRoot, "schemas", `${name}.schema.json`);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(schema, null, 2) + "\n");
  console.log(`wrote ${file}`);
}
