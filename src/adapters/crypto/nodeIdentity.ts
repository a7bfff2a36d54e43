import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { generatePrivateKeyPem, signerFromPrivateKeyPem, type Ed25519Signer } from "./ed25519.js";

export const IDENTITY_FILE = "node-identity.pem";

export class IdentityFileError extends Error {
  override readonly name = "IdentityFileError";
}

/**
 * The node's Ed25519 identity: created on first start with 0600 permissions in the data folder,
 * loaded after. A key file that others can read is refused rather than silently used, as ssh does.
 */
export interface NodeIdentity extends Ed25519Signer {
  readonly file: string;
  readonly created: boolean;
  /** PKCS#8 PEM, for signing threads of this process; never sent anywhere. */
  readonly privateKeyPem: string;
}

export async function loadOrCreateIdentity(dataDir: string): Promise<NodeIdentity> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, IDENTITY_FILE);
  let pem: string;
  let created = false;
  try {
    const info = await stat(file);
    if ((info.mode & 0o077) !== 0) {
      throw new IdentityFileError(
        `${file} is readable by others (mode ${(info.mode & 0o777).toString(8)}); run: chmod 600 ${file}`,
      );
    }
    pem = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    const fresh = generatePrivateKeyPem();
    try {
      // "wx" fails if another process created the file meanwhile, instead of overwriting its key.
      await writeFile(file, fresh, { mode: 0o600, flag: "wx" });
      await chmod(file, 0o600);
      pem = fresh;
      created = true;
    } catch (raced) {
      if ((raced as NodeJS.ErrnoException).code !== "EEXIST") throw raced;
      return loadOrCreateIdentity(dataDir);
    }
  }
  try {
    return { ...signerFromPrivateKeyPem(pem), file, created, privateKeyPem: pem };
  } catch (err) {
    throw new IdentityFileError(`${file} does not hold an Ed25519 private key: ${(err as Error).message}`);
  }
}
