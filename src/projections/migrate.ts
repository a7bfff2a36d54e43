import { join } from "node:path";
import { runner } from "node-pg-migrate";
import { packageRoot } from "../adapters/packageRoot.js";

export const migrationsDir = join(packageRoot, "src", "projections", "migrations");

/** Brings the projection schema up to date; node-pg-migrate's advisory lock serialises nodes. */
export async function migrate(databaseUrl: string, log: (msg: string) => void = () => undefined): Promise<string[]> {
  const applied = await runner({
    databaseUrl,
    dir: migrationsDir,
    direction: "up",
    migrationsTable: "pgmigrations",
    log,
    verbose: false,
  });
  return applied.map((m) => m.name);
}
