import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  consistencyProof,
  emptyRoot,
  fromHex,
  inclusionProof,
  interiorHash,
  leafHash,
  merkleAccumulator,
  merkleLevels,
  rootOf,
  toHex,
  verifyConsistency,
  verifyInclusion,
} from "../../src/domain/ledger/merkle.js";

const hexes = (hashes: readonly Uint8Array[]) => hashes.map(toHex);

// Test vectors of transparency-dev/merkle (Apache-2.0), the Go library behind Trillian and
// certificate-transparency-go: proof/verify_test.go (entries, roots of sizes 1..8, inclusion and
// consistency proofs; its inclusion indices are 1-based, converted here) and rfc6962/rfc6962_test.go
// (the empty root, leaf and node hashes).
const vectorEntries = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"].map(fromHex);
const vectorRoots = [
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];
const vectorRoot = (size: number) => fromHex(vectorRoots[size - 1]!);
const vectorInclusionProofs = [
  { index: 0, size: 1, proof: [] },
  {
    index: 0,
    size: 8,
    proof: [
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
  },
  {
    index: 5,
    size: 8,
    proof: [
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
  { index: 2, size: 3, proof: ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"] },
  {
    index: 1,
    size: 5,
    proof: [
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
  },
];
const vectorConsistencyProofs = [
  { m: 1, n: 1, proof: [] },
  {
    m: 1,
    n: 8,
    proof: [
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
  },
  {
    m: 6,
    n: 8,
    proof: [
      "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
  {
    m: 2,
    n: 5,
    proof: [
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
  },
  {
    m: 6,
    n: 7,
    proof: [
      "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
];

// The RFC's definitions written out naively, as the reference the fast code must agree with.
const largestPowerOfTwoBelow = (n: number) => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};
function naiveRoot(d: readonly Uint8Array[]): Uint8Array {
  if (d.length === 0) return emptyRoot();
  if (d.length === 1) return leafHash(d[0]!);
  const k = largestPowerOfTwoBelow(d.length);
  return interiorHash(naiveRoot(d.slice(0, k)), naiveRoot(d.slice(k)));
}
function naivePath(m: number, d: readonly Uint8Array[]): Uint8Array[] {
  if (d.length === 1) return [];
  const k = largestPowerOfTwoBelow(d.length);
  return m < k ? [...naivePath(m, d.slice(0, k)), naiveRoot(d.slice(k))] : [...naivePath(m - k, d.slice(k)), naiveRoot(d.slice(0, k))];
}
function naiveSubproof(m: number, d: readonly Uint8Array[], b: boolean): Uint8Array[] {
  if (m === d.length) return b ? [] : [naiveRoot(d)];
  const k = largestPowerOfTwoBelow(d.length);
  return m <= k
    ? [...naiveSubproof(m, d.slice(0, k), b), naiveRoot(d.slice(k))]
    : [...naiveSubproof(m - k, d.slice(k), false), naiveRoot(d.slice(0, k))];
}

// The shape of a proof: which side each hash joins on. Two sizes with the same shape verify the
// same hashes the same way, so a proof cannot tell them apart (the signed checkpoint does).
function inclusionShape(i: number, n: number): string {
  if (n === 1) return "";
  const k = largestPowerOfTwoBelow(n);
  return i < k ? `${inclusionShape(i, k)}R` : `${inclusionShape(i - k, n - k)}L`;
}
function consistencyShape(m: number, n: number, b = true): string {
  if (m === n) return b ? "" : "S";
  const k = largestPowerOfTwoBelow(n);
  return m <= k ? `${consistencyShape(m, k, b)}R` : `${consistencyShape(m - k, n - k, false)}L`;
}

// Ledger-like entries: 32-byte hashes, different for every seed and position.
const entriesFor = (seed: number, n: number) =>
  Array.from({ length: n }, (_, i) => new Uint8Array(createHash("sha256").update(`${seed}:${i}`).digest()));
const flipBit = (h: Uint8Array, bit: number) => {
  const copy = Uint8Array.from(h);
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return copy;
};
const replaced = <T>(list: readonly T[], at: number, value: T) => list.map((x, i) => (i === at ? value : x));

const sizeAndIndex = fc.integer({ min: 1, max: 300 }).chain((n) => fc.record({ n: fc.constant(n), i: fc.nat(n - 1), seed: fc.nat() }));
const twoSizes = fc
  .integer({ min: 1, max: 300 })
  .chain((n) => fc.record({ n: fc.constant(n), m: fc.integer({ min: 0, max: n }), seed: fc.nat() }));

describe("RFC 6962 hashes (vectors from transparency-dev/merkle rfc6962_test.go)", () => {
  it("the empty tree's root is SHA-256 of nothing", () => {
    expect(toHex(emptyRoot())).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(toHex(rootOf([]))).toBe(toHex(emptyRoot()));
    expect(toHex(merkleAccumulator().root())).toBe(toHex(emptyRoot()));
  });
  it("a leaf is SHA-256(0x00 || entry), and an empty entry's leaf differs from the empty root", () => {
    expect(toHex(leafHash(new Uint8Array(0)))).toBe("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
    expect(toHex(leafHash(new TextEncoder().encode("L123456")))).toBe("395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56");
  });
  it("an interior node is SHA-256(0x01 || left || right)", () => {
    const text = (s: string) => new TextEncoder().encode(s);
    expect(toHex(interiorHash(text("N123"), text("N456")))).toBe("aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb");
  });
  it("hex round-trips and refuses what is not hex", () => {
    expect(toHex(fromHex("00ff10"))).toBe("00ff10");
    expect(() => fromHex("abc")).toThrow(RangeError);
    expect(() => fromHex("zz")).toThrow(RangeError);
  });
});

describe("RFC 6962 trees (vectors from transparency-dev/merkle proof/verify_test.go)", () => {
  it("given the eight entries, the roots of sizes 1..8 are the known ones, batch and incremental", () => {
    const levels = merkleLevels(vectorEntries);
    const accumulator = merkleAccumulator();
    for (let size = 1; size <= 8; size++) {
      accumulator.append(vectorEntries[size - 1]!);
      expect(toHex(rootOf(vectorEntries.slice(0, size)))).toBe(vectorRoots[size - 1]);
      expect(toHex(rootOf(levels, size))).toBe(vectorRoots[size - 1]);
      expect(toHex(accumulator.root())).toBe(vectorRoots[size - 1]);
    }
  });

  it.each(vectorInclusionProofs)("inclusion of entry $index in the tree of $size: generated as known, verified", ({ index, size, proof }) => {
    const generated = inclusionProof(vectorEntries, index, size);
    expect(hexes(generated)).toEqual(proof);
    expect(verifyInclusion(vectorEntries[index]!, index, size, generated, vectorRoot(size))).toBe(true);
  });

  it.each(vectorInclusionProofs.filter((v) => v.proof.length > 0))(
    "the known inclusion proof of entry $index in $size fails when corrupted as the Go tests corrupt it",
    ({ index, size, proof: proofHex }) => {
      const proof = proofHex.map(fromHex);
      const root = vectorRoot(size);
      const entry = vectorEntries[index]!;
      const someHash = fromHex("abacaba000000000000000000000000000000000000000000060061e00123456");
      const probes: [number, number, Uint8Array, Uint8Array, Uint8Array[]][] = [
        [index - 1, size, entry, root, proof],
        [index + 1, size, entry, root, proof],
        [index ^ 2, size, entry, root, proof],
        [index, size * 2, entry, root, proof],
        [index, Math.floor(size / 2), entry, root, proof],
        [index, size, new TextEncoder().encode("WrongLeaf"), root, proof],
        [index, size, entry, emptyRoot(), proof],
        [index, size, entry, someHash, proof],
        [index, size, entry, root, [...proof, new Uint8Array(0)]],
        [index, size, entry, root, [...proof, root]],
        [index, size, entry, root, [new Uint8Array(0), ...proof]],
        [index, size, entry, root, [root, ...proof]],
        [index, size, entry, root, proof.slice(0, -1)],
        ...proof.map((_, k): [number, number, Uint8Array, Uint8Array, Uint8Array[]] => [index, size, entry, root, replaced(proof, k, flipBit(proof[k]!, 3))]),
      ];
      for (const [i, n, e, r, p] of probes) expect(verifyInclusion(e, i, n, p, r)).toBe(false);
    },
  );

  it.each(vectorConsistencyProofs)("consistency of $m with $n: generated as known, verified", ({ m, n, proof }) => {
    const generated = consistencyProof(vectorEntries, m, n);
    expect(hexes(generated)).toEqual(proof);
    expect(verifyConsistency(m, n, vectorRoot(m), vectorRoot(n), generated)).toBe(true);
  });

  it.each(vectorConsistencyProofs.filter((v) => v.proof.length > 0))(
    "the known consistency proof of $m with $n fails when corrupted as the Go tests corrupt it",
    ({ m, n, proof: proofHex }) => {
      const proof = proofHex.map(fromHex);
      const [rootM, rootN] = [vectorRoot(m), vectorRoot(n)];
      const probes: [number, number, Uint8Array, Uint8Array, Uint8Array[]][] = [
        [m - 1, n, rootM, rootN, proof],
        [m + 1, n, rootM, rootN, proof],
        [m ^ 2, n, rootM, rootN, proof],
        [m, n * 2, rootM, rootN, proof],
        [m, Math.floor(n / 2), rootM, rootN, proof],
        [m, n, new TextEncoder().encode("WrongRoot"), rootN, proof],
        [m, n, rootM, new TextEncoder().encode("WrongRoot"), proof],
        [m, n, rootN, rootM, proof],
        [m, n, rootM, rootN, []],
        [m, n, rootM, rootN, [...proof, new Uint8Array(0)]],
        [m, n, rootM, rootN, [...proof, rootM]],
        [m, n, rootM, rootN, [...proof, rootN]],
        [m, n, rootM, rootN, [new Uint8Array(0), ...proof]],
        [m, n, rootM, rootN, [rootM, ...proof]],
        [m, n, rootM, rootN, [rootN, ...proof]],
        [m, n, rootM, rootN, [proof[0]!, ...proof]],
        [m, n, rootM, rootN, proof.slice(0, -1)],
        ...proof.map((_, k): [number, number, Uint8Array, Uint8Array, Uint8Array[]] => [m, n, rootM, rootN, replaced(proof, k, flipBit(proof[k]!, 4))]),
      ];
      for (const [m1, n1, r1, r2, p] of probes) expect(verifyConsistency(m1, n1, r1, r2, p)).toBe(false);
    },
  );
});

describe("edge cases", () => {
  const root = leafHash(new TextEncoder().encode("data"));
  it("given a tree of one entry, its root is its leaf and the inclusion proof is empty", () => {
    const entry = new TextEncoder().encode("data");
    expect(toHex(rootOf([entry]))).toBe(toHex(root));
    expect(inclusionProof([entry], 0)).toEqual([]);
    expect(verifyInclusion(entry, 0, 1, [], root)).toBe(true);
    expect(verifyInclusion(entry, 0, 1, [], new Uint8Array(0))).toBe(false);
  });
  it("indices and sizes out of range, fractional or unsafe are failed proofs, not exceptions", () => {
    const entry = new TextEncoder().encode("data");
    for (const [index, size] of [[0, 0], [1, 1], [2, 1], [-1, 1], [0.5, 1], [0, 1.5], [0, 2 ** 53], [Number.NaN, 1]] as const) {
      expect(verifyInclusion(entry, index, size, [], root)).toBe(false);
    }
    expect(verifyConsistency(2, 1, root, root, [])).toBe(false);
    expect(verifyConsistency(-1, 1, root, root, [])).toBe(false);
    expect(verifyConsistency(1, 2 ** 53, root, root, [root])).toBe(false);
  });
  it("every tree extends the empty tree and itself with an empty proof, and nothing else", () => {
    expect(verifyConsistency(0, 0, emptyRoot(), emptyRoot(), [])).toBe(true);
    expect(verifyConsistency(0, 5, emptyRoot(), root, [])).toBe(true);
    expect(verifyConsistency(0, 5, root, root, [])).toBe(false);
    expect(verifyConsistency(0, 5, emptyRoot(), root, [emptyRoot()])).toBe(false);
    expect(verifyConsistency(3, 3, root, root, [])).toBe(true);
    expect(verifyConsistency(3, 3, root, emptyRoot(), [])).toBe(false);
    expect(verifyConsistency(3, 3, root, root, [root])).toBe(false);
    expect(verifyConsistency(1, 2, root, root, [])).toBe(false);
    expect(consistencyProof(vectorEntries, 0)).toEqual([]);
    expect(consistencyProof(vectorEntries, 8)).toEqual([]);
  });
  it("proofs are not made for entries or sizes the tree does not have", () => {
    expect(() => inclusionProof(vectorEntries, 8)).toThrow(RangeError);
    expect(() => inclusionProof(vectorEntries, 3, 3)).toThrow(RangeError);
    expect(() => inclusionProof(vectorEntries, 0, 9)).toThrow(RangeError);
    expect(() => inclusionProof([], 0)).toThrow(RangeError);
    expect(() => consistencyProof(vectorEntries, 5, 4)).toThrow(RangeError);
    expect(() => consistencyProof(vectorEntries, 1, 9)).toThrow(RangeError);
    expect(() => rootOf(vectorEntries, 9)).toThrow(RangeError);
  });
  it("an inclusion proof does not bind the size: entry 0's path is the same in trees of 3 and 4", () => {
    const proof = inclusionProof(vectorEntries, 0, 3);
    expect(verifyInclusion(vectorEntries[0]!, 0, 3, proof, vectorRoot(3))).toBe(true);
    expect(verifyInclusion(vectorEntries[0]!, 0, 4, proof, vectorRoot(3))).toBe(true);
  });
  it("given a saved frontier, a new accumulator goes on where the old one stopped", () => {
    const first = merkleAccumulator();
    vectorEntries.slice(0, 5).forEach((e) => first.append(e));
    const resumed = merkleAccumulator(first.state());
    vectorEntries.slice(5).forEach((e) => resumed.append(e));
    expect(resumed.size).toBe(8);
    expect(toHex(resumed.root())).toBe(vectorRoots[7]);
    expect(first.size).toBe(5);
    expect(toHex(first.root())).toBe(vectorRoots[4]);
  });
  it("a frontier that does not fit its size is refused", () => {
    expect(() => merkleAccumulator({ size: 3, frontier: [root] })).toThrow(RangeError);
    expect(() => merkleAccumulator({ size: 1, frontier: [new Uint8Array(31)] })).toThrow(RangeError);
    expect(() => merkleAccumulator({ size: -1, frontier: [] })).toThrow(RangeError);
  });
});

describe("properties over random ledgers of 1..300 entries", () => {
  it("the levels' roots, paths and consistency proofs are the RFC's definitions", () => {
    fc.assert(
      fc.property(twoSizes, fc.nat(), ({ n, m, seed }, pick) => {
        const entries = entriesFor(seed, n);
        const levels = merkleLevels(entries);
        const i = pick % n;
        expect(toHex(rootOf(levels))).toBe(toHex(naiveRoot(entries)));
        expect(toHex(rootOf(levels, m))).toBe(toHex(naiveRoot(entries.slice(0, m))));
        expect(hexes(inclusionProof(levels, i))).toEqual(hexes(naivePath(i, entries)));
        if (m > 0 && m < n) expect(hexes(consistencyProof(levels, m))).toEqual(hexes(naiveSubproof(m, entries, true)));
      }),
      { numRuns: 60 },
    );
  });

  it("an inclusion proof verifies, has at most ceil(log2 n) hashes, and fails when anything is changed", () => {
    fc.assert(
      fc.property(sizeAndIndex, fc.nat(), fc.nat(), ({ n, i, seed }, pickA, pickB) => {
        const entries = entriesFor(seed, n);
        const levels = merkleLevels(entries);
        const root = rootOf(levels);
        const proof = inclusionProof(levels, i);
        const entry = entries[i]!;
        expect(verifyInclusion(entry, i, n, proof, root)).toBe(true);
        expect(proof.length).toBeLessThanOrEqual(Math.ceil(Math.log2(n)));

        if (proof.length > 0) {
          const k = pickA % proof.length;
          expect(verifyInclusion(entry, i, n, replaced(proof, k, flipBit(proof[k]!, pickB % 256)), root)).toBe(false);
          expect(verifyInclusion(entry, i, n, proof.slice(0, -1), root)).toBe(false);
        }
        expect(verifyInclusion(entry, i, n, [...proof, root], root)).toBe(false);
        expect(verifyInclusion(flipBit(entry, pickB % 256), i, n, proof, root)).toBe(false);
        expect(verifyInclusion(entry, i, n, proof, flipBit(root, pickA % 256))).toBe(false);
        if (n > 1) {
          const other = (i + 1 + (pickA % (n - 1))) % n;
          expect(verifyInclusion(entry, other, n, proof, root)).toBe(false);
          expect(verifyInclusion(entries[other]!, i, n, proof, root)).toBe(false);
        }
        // Another size passes exactly when its path has the same shape (see the edge case above).
        const otherSize = i + 1 + (pickB % 400);
        if (otherSize !== n) {
          expect(verifyInclusion(entry, i, otherSize, proof, root)).toBe(inclusionShape(i, otherSize) === inclusionShape(i, n));
        }
      }),
    );
  });

  it("a consistency proof verifies, has at most ceil(log2 n) + 1 hashes, and fails when tampered with", () => {
    fc.assert(
      fc.property(twoSizes, fc.nat(), fc.nat(), ({ n, m, seed }, pickA, pickB) => {
        const entries = entriesFor(seed, n);
        const levels = merkleLevels(entries);
        const [rootM, rootN] = [rootOf(levels, m), rootOf(levels)];
        const proof = consistencyProof(levels, m);
        expect(verifyConsistency(m, n, rootM, rootN, proof)).toBe(true);
        expect(proof.length).toBeLessThanOrEqual(Math.ceil(Math.log2(n)) + 1);
        if (m === 0 || m === n) return;

        const k = pickA % proof.length;
        expect(verifyConsistency(m, n, rootM, rootN, replaced(proof, k, flipBit(proof[k]!, pickB % 256)))).toBe(false);
        expect(verifyConsistency(m, n, rootM, rootN, proof.slice(0, -1))).toBe(false);
        expect(verifyConsistency(m, n, rootM, rootN, [...proof, rootN])).toBe(false);
        expect(verifyConsistency(m, n, flipBit(rootM, pickB % 256), rootN, proof)).toBe(false);
        expect(verifyConsistency(m, n, rootM, flipBit(rootN, pickA % 256), proof)).toBe(false);
        expect(verifyConsistency(m, n, rootN, rootM, proof)).toBe(false);

        // Other sizes pass exactly when the proof has the same shape for them.
        const n2 = 2 + ((pickA + pickB) % 400);
        const m2 = 1 + (pickB % (n2 - 1));
        if (m2 !== m || n2 !== n) {
          expect(verifyConsistency(m2, n2, rootM, rootN, proof)).toBe(consistencyShape(m2, n2) === consistencyShape(m, n));
        }
      }),
    );
  });

  it("an older tree that is not a prefix of the newer one is refused", () => {
    fc.assert(
      fc.property(
        twoSizes.filter(({ n, m }) => m > 0 && m < n),
        fc.nat(),
        ({ n, m, seed }, pick) => {
          const entries = entriesFor(seed, n);
          const forged = replaced(entries, pick % m, flipBit(entries[pick % m]!, pick % 256));
          const rootN = rootOf(entries);
          // The older checkpoint named another history, whichever tree the proof is made from.
          expect(verifyConsistency(m, n, rootOf(forged, m), rootN, consistencyProof(entries, m))).toBe(false);
          expect(verifyConsistency(m, n, rootOf(forged, m), rootN, consistencyProof(forged, m))).toBe(false);
        },
      ),
    );
  });

  it("the accumulator's root equals the batch root at every size, and a resumed one goes on the same", () => {
    fc.assert(
      fc.property(sizeAndIndex, ({ n, i, seed }) => {
        const entries = entriesFor(seed, n);
        const levels = merkleLevels(entries);
        let accumulator = merkleAccumulator();
        entries.forEach((entry, k) => {
          accumulator.append(entry);
          expect(accumulator.size).toBe(k + 1);
          expect(toHex(accumulator.root())).toBe(toHex(rootOf(levels, k + 1)));
          expect(accumulator.state().frontier.length).toBeLessThanOrEqual(Math.floor(Math.log2(k + 1)) + 1);
          if (k === i) accumulator = merkleAccumulator(accumulator.state());
        });
      }),
      { numRuns: 60 },
    );
  });
});

describe("a ledger of 200,000 records", () => {
  it("is hashed once and then proves any record and any older checkpoint quickly", () => {
    const entries = entriesFor(7, 200_000);
    const levels = merkleLevels(entries);
    const root = rootOf(levels);
    for (const i of [0, 1, 99_999, 131_071, 131_072, 199_999]) {
      expect(verifyInclusion(entries[i]!, i, levels.size, inclusionProof(levels, i), root)).toBe(true);
    }
    for (const m of [1, 1000, 131_072, 150_001, 199_999]) {
      expect(verifyConsistency(m, levels.size, rootOf(levels, m), root, consistencyProof(levels, m))).toBe(true);
    }
    const atCheckpoint = 150_001;
    expect(verifyInclusion(entries[150_000]!, 150_000, atCheckpoint, inclusionProof(levels, 150_000, atCheckpoint), rootOf(levels, atCheckpoint))).toBe(true);
  });
});
