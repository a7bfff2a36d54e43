import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generatePrivateKeyPem, signerFromPrivateKeyPem } from "../../src/adapters/crypto/ed25519.js";
import { sealEvent, verifyEventSignature } from "../../src/adapters/crypto/eventSigning.js";
import { packageRoot } from "../../src/adapters/packageRoot.js";
import type { EventEnvelope } from "../../src/domain/events/envelope.js";
import { eventHash } from "../../src/domain/ledger/record.js";

type SigningPools = typeof import("../../src/adapters/crypto/signingPool.js");
type VerificationPools = typeof import("../../src/adapters/crypto/verificationPool.js");
type CommitCheckers = typeof import("../../src/adapters/ledger/commitChecker.js");

/** A module of the compiled tree, as `npm start` runs it (build first: `npm run build`). */
const built = <T>(path: string): Promise<T> => {
  const file = join(packageRoot, "dist", path);
  if (!existsSync(file)) throw new Error(`${file} is missing: run npm run build first`);
  return import(pathToFileURL(file).href) as Promise<T>;
};

const pem = generatePrivateKeyPem();
const signer = signerFromPrivateKeyPem(pem);
const draft = (i: number) => ({
  id: crypto.randomUUID(),
  type: "credits.earned",
  subject: `ec.credits.account.a${i % 3}`,
  data: { amount: i, note: "ü\u{1F600}", nested: { z: [1, { b: 2, a: 3 }], "10": 1, "9": 2 } },
  time: "2026-11-23T10:00:00.000Z",
  schemaVersion: 1,
});

let pools: { sealer: ReturnType<SigningPools["signingPool"]>; verifier: ReturnType<VerificationPools["verificationPool"]>; checker: ReturnType<CommitCheckers["commitCheckerPool"]> };
beforeAll(async () => {
  const [{ signingPool }, { verificationPool }, { commitCheckerPool }] = await Promise.all([
    built<SigningPools>("adapters/crypto/signingPool.js"),
    built<VerificationPools>("adapters/crypto/verificationPool.js"),
    built<CommitCheckers>("adapters/ledger/commitChecker.js"),
  ]);
  pools = { sealer: signingPool(pem, 1), verifier: verificationPool(1), checker: commitCheckerPool(1) };
});
afterAll(async () => {
  await Promise.all([pools?.sealer.close(), pools?.verifier.close(), pools?.checker.close()]);
});

describe("the compiled worker threads (dist/), loaded from their own files", () => {
  it("sign, verify and hash exactly as the source's main-thread functions do", async () => {
    const drafts = Array.from({ length: 40 }, (_, i) => draft(i));
    const sealed = await Promise.all(drafts.map((d) => pools.sealer.seal(d)));
    // Ed25519 is deterministic: the very signatures the main thread makes.
    expect(sealed).toEqual(drafts.map((d) => sealEvent(signer, d)));
    const mixed: EventEnvelope[] = sealed.map((e, i) => (i % 3 === 1 ? { ...e, data: { ...e.data, amount: -1 } } : e));
    expect(await pools.verifier.verifyAll(mixed)).toEqual(mixed.map(verifyEventSignature));
    const commits = [mixed.slice(0, 15), mixed.slice(15)].map((c) => new TextEncoder().encode(JSON.stringify(c)));
    expect(await pools.checker.checkSources(commits)).toEqual({
      valid: mixed.map(verifyEventSignature),
      hashes: mixed.map(eventHash),
      counts: [15, 25],
      fields: mixed.map((e) => [e.id, e.type, e.subject, e.signer, e.time]),
    });
  });
});
