import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ADMIN_TOKEN_FILE, AdminTokenFileError, loadOrCreateAdminToken } from "../../src/node/adminToken.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ec-admin-token-"));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

describe("the admin token file", () => {
  it("is generated on first start with mode 0600, and the same token is loaded after", async () => {
    const first = await loadOrCreateAdminToken(dir);
    expect(first.file).toBe(join(dir, ADMIN_TOKEN_FILE));
    expect((await stat(first.file!)).mode & 0o777).toBe(0o600);
    expect(first.token.length).toBeGreaterThanOrEqual(16);
    expect(await loadOrCreateAdminToken(dir)).toEqual(first);
  });

  it("is refused, naming the file, its mode and the fix, when its group or anyone else may read or write it", async () => {
    const { file } = await loadOrCreateAdminToken(dir);
    for (const mode of [0o644, 0o640, 0o604, 0o620, 0o602, 0o660]) {
      await chmod(file!, mode);
      const refused = await loadOrCreateAdminToken(dir).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect({ mode: mode.toString(8), refused }).toEqual({ mode: mode.toString(8), refused: expect.any(AdminTokenFileError) });
      expect((refused as Error).message).toBe(`${file} is readable by others (mode ${mode.toString(8)}); run: chmod 600 ${file}`);
    }
    await chmod(file!, 0o400);
    expect((await loadOrCreateAdminToken(dir)).token).toBe((await readFile(file!, "utf8")).trim());
  });

  it("is refused when it holds no token of 16 characters or more, rather than guarding the routes with an empty one", async () => {
    const file = join(dir, ADMIN_TOKEN_FILE);
    for (const content of ["", "\n", "short\n"]) {
      await writeFile(file, content, { mode: 0o600 });
      await expect(loadOrCreateAdminToken(dir)).rejects.toThrow(`${file} holds no token of at least 16 characters; delete it to have one generated`);
      await rm(file);
    }
  });

  it("is not read at all when ADMIN_API_TOKEN is given", async () => {
    await writeFile(join(dir, ADMIN_TOKEN_FILE), "x", { mode: 0o644 });
    expect(await loadOrCreateAdminToken(dir, "given-token-0123456789")).toEqual({ token: "given-token-0123456789" });
  });
});
