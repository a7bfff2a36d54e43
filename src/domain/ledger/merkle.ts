import { hash } from "node:crypto";

/*
 * The Merkle tree of RFC 9162 (Certificate Transparency v2) section 2.1 over the ledger's
 * records: MTH, inclusion proofs (PATH, 2.1.3) and consistency proofs (PROOF/SUBPROOF, 2.1.4).
 *
 * Written here rather than taken from npm: no well-kept package does both halves. The popular
 * Merkle libraries (merkletreejs, @openzeppelin/merkle-tree, merkle-tools) build other trees
 * (duplicated or sorted pairs, no 0x00/0x01 domain separation) and have no consistency proofs;
 * @sigstore/verify only verifies inclusion, inside its bundle checks; @transmute/rfc9162 (0.0.5,
 * async only) finds a leaf by value and recomputes every subtree for each proof, which is
 * quadratic over a whole ledger, and keeps no incremental root. The code below follows the RFC's
 * text step by step and is checked against the test vectors of transparency-dev/merkle
 * (test/unit/merkle.unit.spec.ts).
 *
 * Words: an entry is what the tree is built over, the RFC's d(i) (here a ledger record's 32-byte
 * hash); its leaf hash is SHA-256(0x00 || entry); an interior node is SHA-256(0x01 || left || right).
 * Every hash is a Uint8Array of 32 bytes; toHex and fromHex convert at the edges.
 */

export const HASH_BYTES = 32;

const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;

const sha256 = (data: Uint8Array): Uint8Array => new Uint8Array(hash("sha256", data, "buffer"));

/** MTH({}) = SHA-256() */
export const emptyRoot = (): Uint8Array => sha256(new Uint8Array(0));

export function leafHash(entry: Uint8Array): Uint8Array {
  const input = new Uint8Array(1 + entry.length);
  input[0] = LEAF_PREFIX;
  input.set(entry, 1);
  return sha256(input);
}

export function interiorHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  const input = new Uint8Array(1 + left.length + right.length);
  input[0] = NODE_PREFIX;
  input.set(left, 1);
  input.set(right, 1 + left.length);
  return sha256(input);
}

/**
 * A tree hashed once for many proofs: levels[h] holds the roots of the complete subtrees of 2^h
 * entries, left to right, 32 bytes each, in one buffer per level (about 2n hashes in all). Every
 * node the RFC's recursion asks for is either one of them or a fold of at most log2(n) of them.
 */
export interface MerkleLevels {
  readonly size: number;
  readonly levels: readonly Uint8Array[];
}

/** The entries themselves, or their levels when several proofs are wanted over the same tree. */
export type MerkleTreeSource = readonly Uint8Array[] | MerkleLevels;

export function merkleLevels(entries: readonly Uint8Array[]): MerkleLevels {
  const leaves = new Uint8Array(entries.length * HASH_BYTES);
  entries.forEach((entry, i) => leaves.set(leafHash(entry), i * HASH_BYTES));
  const levels = [leaves];
  // Two siblings lie side by side in the level below, so 0x01 || left || right is one copy.
  const pair = new Uint8Array(1 + 2 * HASH_BYTES);
  pair[0] = NODE_PREFIX;
  for (let below = leaves, count = entries.length; count >= 2; count = Math.floor(count / 2)) {
    const above = new Uint8Array(Math.floor(count / 2) * HASH_BYTES);
    for (let j = 0; j * HASH_BYTES < above.length; j++) {
      pair.set(below.subarray(2 * j * HASH_BYTES, (2 * j + 2) * HASH_BYTES), 1);
      above.set(sha256(pair), j * HASH_BYTES);
    }
    levels.push(above);
    below = above;
  }
  return { size: entries.length, levels };
}

/** MTH of the first `size` entries (all by default). */
export function rootOf(tree: MerkleTreeSource, size?: number): Uint8Array {
  const levels = levelsOf(tree);
  const n = size ?? levels.size;
  checkSize(n, 0, levels.size, "size");
  return n === 0 ? emptyRoot() : subtreeRoot(levels, 0, n);
}

/** PATH(index, D[size]): the audit path of one entry, from the leaf's sibling up. */
export function inclusionProof(tree: MerkleTreeSource, index: number, size?: number): Uint8Array[] {
  const levels = levelsOf(tree);
  const n = size ?? levels.size;
  checkSize(n, 1, levels.size, "size");
  checkSize(index, 0, n - 1, "index");
  const proof: Uint8Array[] = [];
  path(levels, index, 0, n, proof);
  return proof;
}

/** PROOF(m, D[n]): what proves the tree of the first m entries a prefix of the first n (all by default). */
export function consistencyProof(tree: MerkleTreeSource, m: number, n?: number): Uint8Array[] {
  const levels = levelsOf(tree);
  const newer = n ?? levels.size;
  checkSize(newer, 0, levels.size, "n");
  checkSize(m, 0, newer, "m");
  const proof: Uint8Array[] = [];
  // Every tree extends the empty one and itself: RFC 9162 defines PROOF for 0 < m < n only.
  if (m > 0 && m < newer) subproof(levels, m, 0, newer, proof);
  return proof;
}

/**
 * RFC 9162 2.1.3.2: true when `entry` is at `index` in the tree of `size` entries whose root is
 * `root`. Never throws: a malformed argument is a failed proof. The proof does not bind the size by
 * itself (the path of entry 0 has the same shape in trees of 3 and 4), so the size must come from
 * the same signed checkpoint as the root.
 */
export function verifyInclusion(entry: Uint8Array, index: number, size: number, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!isCount(index) || !isCount(size) || index >= size || !isHash(root) || !proof.every(isHash)) return false;
  let fn = index;
  let sn = size - 1;
  let r = leafHash(entry);
  for (const p of proof) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      r = interiorHash(p, r);
      while (!isOdd(fn) && fn !== 0) [fn, sn] = [half(fn), half(sn)];
    } else {
      r = interiorHash(r, p);
    }
    [fn, sn] = [half(fn), half(sn)];
  }
  return sn === 0 && equalBytes(r, root);
}

/**
 * RFC 9162 2.1.4.2: true when the tree of `m` entries with root `rootM` is a prefix of the tree of
 * `n` entries with root `rootN`. Never throws. For m = n the proof is empty and the roots equal;
 * for m = 0 the proof is empty and rootM is the empty tree's root.
 */
export function verifyConsistency(m: number, n: number, rootM: Uint8Array, rootN: Uint8Array, proof: readonly Uint8Array[]): boolean {
  if (!isCount(m) || !isCount(n) || m > n || !isHash(rootM) || !isHash(rootN) || !proof.every(isHash)) return false;
  if (m === n) return proof.length === 0 && equalBytes(rootM, rootN);
  if (m === 0) return proof.length === 0 && equalBytes(rootM, emptyRoot());
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(m) ? [rootM, ...proof] : [...proof];
  const [seed, ...rest] = path;
  if (seed === undefined) return false;
  let fn = m - 1;
  let sn = n - 1;
  while (isOdd(fn)) [fn, sn] = [half(fn), half(sn)];
  let fr = seed;
  let sr = seed;
  for (const c of rest) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      fr = interiorHash(c, fr);
      sr = interiorHash(c, sr);
      while (!isOdd(fn) && fn !== 0) [fn, sn] = [half(fn), half(sn)];
    } else {
      sr = interiorHash(sr, c);
    }
    [fn, sn] = [half(fn), half(sn)];
  }
  return sn === 0 && equalBytes(fr, rootM) && equalBytes(sr, rootN);
}

/** What a writer keeps to name the root after each append: O(log n) hashes. */
export interface MerkleFrontier {
  readonly size: number;
  /** Roots of the complete subtrees that make up the tree, largest (leftmost) first: one per set bit of size. */
  readonly frontier: readonly Uint8Array[];
}

export interface MerkleAccumulator {
  readonly size: number;
  append(entry: Uint8Array): void;
  root(): Uint8Array;
  /** A copy to persist; merkleAccumulator(state) resumes from it. */
  state(): MerkleFrontier;
}

/**
 * The tree built one entry at a time without keeping the entries (a compact range): appending
 * merges equal-sized complete subtrees like a binary counter carries, and the root folds what is
 * left from the right, which is exactly the RFC's split at the largest power of two.
 */
export function merkleAccumulator(from: MerkleFrontier = { size: 0, frontier: [] }): MerkleAccumulator {
  if (!isCount(from.size) || from.frontier.length !== bitCount(from.size) || !from.frontier.every(isHash)) {
    throw new RangeError("a Merkle frontier holds one 32-byte hash per set bit of its size");
  }
  let size = from.size;
  const frontier: Uint8Array[] = from.frontier.map((h) => Uint8Array.from(h));
  return {
    get size() {
      return size;
    },
    append(entry) {
      let node = leafHash(entry);
      for (let carry = size; isOdd(carry); carry = half(carry)) {
        const left = frontier.pop();
        if (left === undefined) throw new Error("Merkle frontier shorter than its size");
        node = interiorHash(left, node);
      }
      frontier.push(node);
      size += 1;
    },
    root() {
      return foldFromRight(frontier) ?? emptyRoot();
    },
    state() {
      return { size, frontier: frontier.map((h) => Uint8Array.from(h)) };
    },
  };
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

export function fromHex(hex: string): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new RangeError("not an even-length hex string");
  return Uint8Array.from(Buffer.from(hex, "hex"));
}

/** MTH(D[a:b]) for a node of the RFC's recursion, where a is a multiple of the smallest power of two >= b - a. */
function subtreeRoot(tree: MerkleLevels, a: number, b: number): Uint8Array {
  const width = b - a;
  if (isPowerOfTwo(width)) {
    const level = tree.levels[log2(width)];
    if (level === undefined || a % width !== 0) throw new Error(`no complete subtree at [${a}, ${b})`);
    const offset = (a / width) * HASH_BYTES;
    return level.slice(offset, offset + HASH_BYTES);
  }
  const k = largestPowerOfTwoBelow(width);
  return interiorHash(subtreeRoot(tree, a, a + k), subtreeRoot(tree, a + k, b));
}

/** PATH(m, D[a:b]) with m counted from 0, appended to `out` bottom-up. */
function path(tree: MerkleLevels, m: number, a: number, b: number, out: Uint8Array[]): void {
  if (b - a === 1) return;
  const k = largestPowerOfTwoBelow(b - a);
  if (m < a + k) {
    path(tree, m, a, a + k, out);
    out.push(subtreeRoot(tree, a + k, b));
  } else {
    path(tree, m, a + k, b, out);
    out.push(subtreeRoot(tree, a, a + k));
  }
}

/**
 * SUBPROOF(m, D[a:b], b') with m counted from 0. The RFC's flag b' ("is D[a:m] the old tree's
 * root, which the verifier already has") stays true exactly while the recursion follows the left
 * edge, so it is a === 0.
 */
function subproof(tree: MerkleLevels, m: number, a: number, b: number, out: Uint8Array[]): void {
  if (m === b) {
    if (a !== 0) out.push(subtreeRoot(tree, a, b));
    return;
  }
  const k = largestPowerOfTwoBelow(b - a);
  if (m <= a + k) {
    subproof(tree, m, a, a + k, out);
    out.push(subtreeRoot(tree, a + k, b));
  } else {
    subproof(tree, m, a + k, b, out);
    out.push(subtreeRoot(tree, a, a + k));
  }
}

function levelsOf(tree: MerkleTreeSource): MerkleLevels {
  return "levels" in tree ? tree : merkleLevels(tree);
}

function foldFromRight(nodes: readonly Uint8Array[]): Uint8Array | undefined {
  let root: Uint8Array | undefined;
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    root = root === undefined ? Uint8Array.from(node) : interiorHash(node, root);
  }
  return root;
}

function checkSize(value: number, min: number, max: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} ${value} outside [${min}, ${max}]`);
  }
}

// Sizes in proofs to verify come from outside and may pass 2^32, so no 32-bit bit operators there.
const isCount = (x: number): boolean => Number.isSafeInteger(x) && x >= 0;
const isHash = (h: Uint8Array): boolean => h instanceof Uint8Array && h.length === HASH_BYTES;
const isOdd = (x: number): boolean => x % 2 === 1;
const half = (x: number): number => Math.floor(x / 2);

function isPowerOfTwo(x: number): boolean {
  if (x < 1) return false;
  while (x % 2 === 0) x /= 2;
  return x === 1;
}

function bitCount(x: number): number {
  let count = 0;
  for (; x > 0; x = half(x)) count += x % 2;
  return count;
}

// Trees built here are at most an array long (< 2^32 entries), so clz32 is exact.
const log2 = (powerOfTwo: number): number => 31 - Math.clz32(powerOfTwo);
const largestPowerOfTwoBelow = (n: number): number => 2 ** (31 - Math.clz32(n - 1));

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
