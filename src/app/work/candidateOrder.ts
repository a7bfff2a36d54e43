/**
 * The candidates of a pull, best first as the query ordered them, with the first few shuffled so
 * that many agents pulling at once do not all fight over the same subtask. Only candidates as
 * good as the first (of the same rank) are shuffled, at most `head` of them. `random` is uniform
 * in [0, 1).
 */
export function spreadEqualHead<T extends { readonly rank: string }>(candidates: readonly T[], random: () => number = Math.random, head = 4): T[] {
  let equal = 0;
  while (equal < Math.min(candidates.length, head) && candidates[equal]!.rank === candidates[0]!.rank) equal++;
  const front = candidates.slice(0, equal);
  for (let i = front.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [front[i], front[j]] = [front[j]!, front[i]!];
  }
  return [...front, ...candidates.slice(equal)];
}
