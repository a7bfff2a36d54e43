/** One claim on an amount to divide. */
export interface Claim {
  readonly id: string;
  readonly weight: bigint;
}

/**
 * Divides `total` whole units among the claims in proportion to their weights so the parts sum
 * exactly to it (the largest-remainder, or Hamilton, method): each claim gets the floor of its
 * exact share, and the units left over (fewer than there are claims) go one each to the largest
 * remainders, equal remainders in order of id, so every node divides alike. BigInt throughout:
 * total × weight outgrows 2^53 long before the amounts do.
 */
export function largestRemainder(total: bigint, claims: readonly Claim[]): { readonly id: string; readonly amount: bigint }[] {
  if (total < 0n) throw new RangeError("the total to divide is negative");
  const ids = new Set(claims.map((c) => c.id));
  if (ids.size !== claims.length) throw new RangeError("two claims have the same id");
  let weights = 0n;
  for (const c of claims) {
    if (c.weight < 0n) throw new RangeError(`claim ${c.id} has a negative weight`);
    weights += c.weight;
  }
  if (weights === 0n) {
    if (total === 0n) return claims.map((c) => ({ id: c.id, amount: 0n }));
    throw new RangeError("nothing to divide by: every weight is 0");
  }
  const parts = claims.map((c) => ({ id: c.id, amount: (total * c.weight) / weights, remainder: (total * c.weight) % weights }));
  let left = total;
  for (const p of parts) left -= p.amount;
  const byRemainder = [...parts].sort((a, b) => (a.remainder > b.remainder ? -1 : a.remainder < b.remainder ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const p of byRemainder) {
    if (left === 0n) break;
    p.amount += 1n;
    left -= 1n;
  }
  return parts
    .map(({ id, amount }) => ({ id, amount }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
