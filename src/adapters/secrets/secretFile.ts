import { chmod, readFile, stat, writeFile } from "node:fs/promises";

export class SecretFileError extends Error {
  override readonly name = "SecretFileError";
}

/**
 * A secret kept in a file of its own (0600): read when it exists, else created once. A file
 * others can read is refused rather than used, since whoever reads it holds the secret. Two
 * processes starting at once end up with one secret: creation is exclusive and the loser reads
 * the winner's.
 */
export async function loadOrCreateSecretFile<T>(
  file: string,
  spec: { create: () => string; parse: (text: string) => T | undefined; what: string },
): Promise<{ value: T; created: boolean }> {
  try {
    const info = await stat(file);
    if ((info.mode & 0o077) !== 0) {
      throw new SecretFileError(`${file} is readable by others (mode ${(info.mode & 0o777).toString(8)}); run: chmod 600 ${file}`);
    }
    const value = spec.parse(await readFile(file, "utf8"));
    if (value === undefined) throw new SecretFileError(`${file} holds no valid ${spec.what}; delete it to have one generated`);
    return { value, created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    const text = spec.create();
    try {
      await writeFile(file, text, { mode: 0o600, flag: "wx" });
      await chmod(file, 0o600);
    } catch (raced) {
      if ((raced as NodeJS.ErrnoException).code !== "EEXIST") throw raced;
      return { value: (await loadOrCreateSecretFile(file, spec)).value, created: false };
    }
    const value = spec.parse(text);
    if (value === undefined) throw new SecretFileError(`a new ${spec.what} did not parse`);
    return { value, created: true };
  }
}
