import { randomBytes } from "node:crypto";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";

export const ADMIN_TOKEN_FILE = "admin-token";
const MIN_LENGTH = 16;

export class AdminTokenFileError extends Error {
  override readonly name = "AdminTokenFileError";
}

/**
 * ADMIN_API_TOKEN when given; else one generated on first start and kept (0600) in the data
 * folder. Like the identity key, a token file that others can read is refused rather than used:
 * whoever reads it runs the node's operator routes and spends its model's time.
 */
export async function loadOrCreateAdminToken(dataDir: string, given?: string): Promise<{ token: string; file?: string }> {
  if (given) return { token: given };
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  try {
    const info = await stat(file);
    if ((info.mode & 0o077) !== 0) {
      throw new AdminTokenFileError(`${file} is readable by others (mode ${(info.mode & 0o777).toString(8)}); run: chmod 600 ${file}`);
    }
    const token = (await readFile(file, "utf8")).trim();
    if (token.length < MIN_LENGTH) throw new AdminTokenFileError(`${file} holds no token of at least ${MIN_LENGTH} characters; delete it to have one generated`);
    return { token, file };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    const token = randomBytes(24).toString("base64url");
    try {
      // "wx" fails if another process created the file meanwhile, instead of overwriting its token.
      await writeFile(file, token + "\n", { mode: 0o600, flag: "wx" });
    } catch (raced) {
      if ((raced as NodeJS.ErrnoException).code !== "EEXIST") throw raced;
      return loadOrCreateAdminToken(dataDir);
    }
    return { token, file };
  }
}
