/** What an auditor needs of every event of some commits: is it signed right, and its eventHash(). */
export interface CheckedEvents {
  /** One entry per event, the commits' events in order (a commit that is not a JSON array has none). */
  readonly valid: readonly boolean[];
  readonly hashes: readonly string[];
}

/** The same for source events, with what a ledger record repeats of each, so their text is never parsed here. */
export interface CheckedSources extends CheckedEvents {
  /** How many events each commit holds. */
  readonly counts: readonly number[];
  /** Per event: id, type, subject, signer, time; undefined for a message that is not an event. */
  readonly fields: readonly (readonly [string, string, string, string, string] | undefined)[];
}

/**
 * Commits sent to a checking thread as one buffer (a message's bytes may be a view into a
 * larger buffer, which a structured clone would copy whole): commit i is data[ends[i-1], ends[i]).
 */
export interface CommitJob {
  readonly data: Uint8Array;
  readonly ends: readonly number[];
  /** Source commits: the fields records repeat come back too. */
  readonly sources: boolean;
}
