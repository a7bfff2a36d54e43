import { Command, InvalidArgumentError, Option } from "commander";
import { LEDGER_STREAM } from "../domain/ledger/names.js";
import { DEFAULT_UNCHAINED_GRACE_MS } from "../domain/ledger/unchained.js";
import { CANNOT_RUN, SOUND, type AuditFlags, type Globals } from "./auditOptions.js";


/**
 * The `edgecoder audit` command's options, apart from the audit itself, which is loaded only
 * when the command runs: the CLI's start (and `edgecoder up`'s supervisor) stays light.
 */

/** An option's parser for a whole number of at least `min`, refused with `what` it should be. */
export const wholeNumber = (min: number, what: string) => (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(what);
  return n;
};
const checkpointSize = wholeNumber(1, "a checkpoint's size: a whole number of records, at least 1");
const seconds = wholeNumber(0, "a whole number of seconds, 0 or more");

/** `edgecoder audit`: its options, and exit codes 0 / 1 / 2 for every way it ends, usage errors included. */
export function auditCommand(globals: Globals): Command {
  return new Command("audit")
    .description("verify the ordering ledger with nothing but the streams and public keys; names the first bad record (exit 1)")
    .option("--follow", "after the full check, verify each new record, checkpoint and anchor as it arrives; resumes from --state")
    .option("--state <file>", "where --follow keeps its last verified state [default <data-dir>/audit-state.json]")
    .option("--prove <eventId>", "print an inclusion proof (JSON) of that source event's record against the latest checkpoint")
    .option("--prove-consistency <size>", "print a consistency proof (JSON) that the latest checkpoint extends the checkpoint of <size> records", checkpointSize)
    .option("--verify-proof <file>", "check a proof printed by --prove or --prove-consistency, offline (- reads standard input)")
    .option("--trusted-keys <keys>", "coordinator public keys allowed to sign records and checkpoints: a file (one per line) or a comma list")
    .addOption(
      new Option("--bitcoin-rpc <url>", "bitcoind's RPC (credentials from BITCOIN_RPC_USER/BITCOIN_RPC_PASSWORD or BITCOIN_RPC_COOKIE_FILE): the anchors' transactions are checked there").env(
        "BITCOIN_RPC_URL",
      ),
    )
    .option("--unchained-grace <seconds>", "a source event missing from the ledger is a fault once the ledger holds records stored this long after it", seconds, DEFAULT_UNCHAINED_GRACE_MS / 1000)
    .option("--json", "print the full audit's verdict as one JSON object (same exit codes)")
    .option("--no-progress", "no progress bar")
    .addOption(new Option("--ledger-stream <name>", "stream holding the ledger").default(LEDGER_STREAM).hideHelp())
    .addOption(new Option("--ledger-subject-prefix <prefix>", "the ledger's subjects are <prefix>.chain and <prefix>.checkpoints").default("ec.ledger").hideHelp())
    .showHelpAfterError()
    .exitOverride((err) => process.exit(err.exitCode === 0 ? SOUND : CANNOT_RUN))
    .action(async (flags: AuditFlags) => {
      const { runAudit } = await import("./audit.js");
      process.exitCode = await runAudit(flags, globals()).catch((err: unknown) => {
        console.error(`edgecoder audit: ${err instanceof Error ? err.message : String(err)}`);
        return CANNOT_RUN;
      });
    });
}

