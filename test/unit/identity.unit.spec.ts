import { generateKeyPairSync } from "node:crypto";
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { signerFromPrivateKeyPem, verifyEd25519 } from "../../src/adapters/crypto/ed25519.js";
import { IDENTITY_FILE, IdentityFileError, loadOrCreateIdentity } from "../../src/adapters/crypto/nodeIdentity.js";

// A pass-through fs whose stat can be held at a barrier: it lets a test put several loaders
// between "no key file yet" and writing one, the window the exclusive create guards.
const race = vi.hoisted(() => ({ afterStat: undefined as (() => Promise<void>) | undefined }));
vi.mock("node:fs/promises", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs/promises")>();
  const stat = async (...args: Parameters<typeof fs.stat>) => {
    try {
      return await fs.stat(...args);
    } finally {
      await race.afterStat?.();
    }
  };
  return { ...fs, stat };
});

function barrier(parties: number): () => Promise<void> {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return () => {
    arrived += 1;
    if (arrived >= parties) open();
    return opened;
  };
}

let root: string;
let dataDir: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "ec-identity-"));
  // Not created yet: the identity loader makes it.
  dataDir = join(root, "data", "node");
});
afterEach(async () => {
  race.afterStat = undefined;
  await rm(root, { recursive: true, force: true });
});

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

describe("node identity key file", () => {
  it("on first start creates the key file with mode 0600 in a data folder with mode 0700", async () => {
    const identity = await loadOrCreateIdentity(dataDir);
    expect(identity.created).toBe(true);
    expect(identity.file).toBe(join(dataDir, IDENTITY_FILE));
    expect(await modeOf(identity.file)).toBe(0o600);
    expect(await modeOf(dataDir)).toBe(0o700);
  });

  it("holds an Ed25519 key whose signatures verify under the reported public key", async () => {
    const identity = await loadOrCreateIdentity(dataDir);
    const message = new TextEncoder().encode("hello");
    expect(verifyEd25519(identity.publicKey, message, identity.sign(message))).toBe(true);
    expect(signerFromPrivateKeyPem(await readFile(identity.file, "utf8")).publicKey).toBe(identity.publicKey);
  });

  it("on later starts loads the same key instead of creating another", async () => {
    const first = await loadOrCreateIdentity(dataDir);
    const before = await readFile(first.file, "utf8");
    const second = await loadOrCreateIdentity(dataDir);
    expect(second.created).toBe(false);
    expect(second.publicKey).toBe(first.publicKey);
    expect(await readFile(second.file, "utf8")).toBe(before);
  });

  it("loaders that all found no key file never overwrite each other's key", async () => {
    race.afterStat = barrier(3);
    const results = await Promise.allSettled(Array.from({ length: 3 }, () => loadOrCreateIdentity(dataDir)));
    race.afterStat = undefined;
    const onDisk = signerFromPrivateKeyPem(await readFile(join(dataDir, IDENTITY_FILE), "utf8")).publicKey;
    const loaded = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    // The losers load the winner's key instead of failing.
    expect(loaded).toHaveLength(3);
    expect(loaded.filter((l) => l.created)).toHaveLength(1);
    for (const l of loaded) expect(l.publicKey).toBe(onDisk);
  });

  it.each([0o644, 0o640, 0o604, 0o660])("refuses a key file with mode %o and says to chmod 600", async (mode) => {
    const { file } = await loadOrCreateIdentity(dataDir);
    await chmod(file, mode);
    const attempt = loadOrCreateIdentity(dataDir);
    await expect(attempt).rejects.toBeInstanceOf(IdentityFileError);
    await expect(attempt).rejects.toThrow(`chmod 600 ${file}`);
  });

  it("accepts a key file only its owner can read (0400)", async () => {
    const first = await loadOrCreateIdentity(dataDir);
    await chmod(first.file, 0o400);
    const again = await loadOrCreateIdentity(dataDir);
    expect(again.publicKey).toBe(first.publicKey);
    expect(again.created).toBe(false);
  });

  it("refuses a key file that does not hold a private key, and leaves it as it is", async () => {
    const { file } = await loadOrCreateIdentity(dataDir);
    await writeFile(file, "not a key at all\n", { mode: 0o600 });
    await expect(loadOrCreateIdentity(dataDir)).rejects.toBeInstanceOf(IdentityFileError);
    expect(await readFile(file, "utf8")).toBe("not a key at all\n");
  });

  it("refuses a private key of another algorithm", async () => {
    const { file } = await loadOrCreateIdentity(dataDir);
    const p256 = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    await writeFile(file, p256, { mode: 0o600 });
    await expect(loadOrCreateIdentity(dataDir)).rejects.toThrow(IdentityFileError);
    await expect(loadOrCreateIdentity(dataDir)).rejects.toThrow(/Ed25519/);
  });
});
