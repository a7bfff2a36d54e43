/**
 * Where the ledger lives. A module of its own, with no imports: the CLI's command definitions
 * name the stream without loading the schemas (edgecoder up's supervisor stays small).
 */

/** The ledger is one subject: appends conditional on its last sequence keep it a single line. */
export const LEDGER_STREAM = "EC_LEDGER";
export const CHAIN_SUBJECT = "ec.ledger.chain";
export const CHECKPOINT_SUBJECT = "ec.ledger.checkpoints";
export const ANCHOR_SUBJECT = "ec.ledger.anchors";
