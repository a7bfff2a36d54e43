import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

export const ADMIN_TOKEN_FILE = "admin-token";

/** ADMIN_API_TOKEN when given; else one generated on first start and kept (0600) in the data folder. */
export async function loadOrCreateAdminToken(dataDir: string, given?: string): Promise<{ token: string; file?: string }> {
  if (given) return { token: given };
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  try {
    return { token: (await readFile(file, "utf8")).trim(), file };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    const token = randomBytes(24).toString("base64url");
    await writeFile(file, token + "\n", { mode: 0o600, flag: "wx" });
    return { token, file };
  }
}
