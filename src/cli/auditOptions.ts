/** What `edgecoder audit` and the audit it loads when it runs share: exit codes and parsed flags. */

/** Exit codes: the ledger (or proof) is sound, it is not, or the audit could not be run. */
export const SOUND = 0;
export const UNSOUND = 1;
export const CANNOT_RUN = 2;

export interface AuditFlags {
  follow?: boolean;
  state?: string;
  prove?: string;
  proveConsistency?: number;
  verifyProof?: string;
  trustedKeys?: string;
  bitcoinRpc?: string;
  unchainedGrace: number;
  json?: boolean;
  progress: boolean;
  ledgerStream: string;
  ledgerSubjectPrefix: string;
}

export type Globals = () => { dataDir?: string; natsUrl?: string };
