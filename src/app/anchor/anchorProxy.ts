import { BitcoindUnreachableError, BitcoinRpcError, RPC_INVALID_ADDRESS_OR_KEY, type BitcoinRpc } from "../../adapters/bitcoin/rpc.js";
import { anchorPayloadHex, BitcoinNetwork, checkpointHashFromOutputs, type AnchorBroadcastReceipt } from "../../domain/ledger/anchor.js";
import { refusal, type Refusal } from "../commands.js";

export type BroadcastReceipt = AnchorBroadcastReceipt & { readonly feeBtc: number };

/** bitcoind refused (with its reason, method and code), or did not answer. */
export type BitcoindFailure = (Refusal<"bitcoind_refused"> & { readonly method: string; readonly code: number | null }) | Refusal<"bitcoind_unreachable">;

export interface AnchorConfirmation {
  readonly txid: string;
  readonly confirmations: number;
  readonly blockhash?: string;
  /** null: the transaction carries no checkpoint hash of ours. */
  readonly payloadHash: string | null;
}

export type AnchorProxyHealth = { ok: boolean; reachable: true; chain: string; blocks: number } & ({ balanceBtc: number } | { walletError: string }) | { ok: false; reachable: boolean; message: string };

function bitcoindFailure(err: unknown): BitcoindFailure | undefined {
  if (err instanceof BitcoindUnreachableError) return refusal("bitcoind_unreachable", err.message);
  if (err instanceof BitcoinRpcError) return { ...refusal("bitcoind_refused", err.message), method: err.method, code: err.code ?? null };
  return undefined;
}

/** Runs `work`, answering a bitcoind failure as such and throwing anything else. */
async function orFailure<T>(work: () => Promise<T>): Promise<T | BitcoindFailure> {
  try {
    return await work();
  } catch (err) {
    const failure = bitcoindFailure(err);
    if (!failure) throw err;
    return failure;
  }
}

/**
 * The anchor proxy's use cases, over bitcoind's wallet: a checkpoint hash written into an
 * OP_RETURN output that the wallet funds, signs and sends, and such a transaction read back.
 * Broadcasts are made one at a time, so two never fund from the same coin.
 */
export function anchorProxy(rpc: BitcoinRpc) {
  let previous: Promise<unknown> = Promise.resolve();
  const oneAtATime = <T>(work: () => Promise<T>): Promise<T> => {
    const run = previous.then(work, work);
    previous = run.catch(() => undefined);
    return run;
  };

  return {
    broadcast: (hash: string): Promise<BroadcastReceipt | BitcoindFailure> =>
      orFailure(() =>
        oneAtATime(async () => {
          // The chain first: an anchor records where it lives, and an unknown chain sends nothing.
          const { chain } = await rpc.getBlockchainInfo();
          const network = BitcoinNetwork.safeParse(chain);
          if (!network.success) throw new BitcoinRpcError("getblockchaininfo", undefined, `unknown chain "${chain}"`, 200);
          const created = await rpc.createRawTransaction([], [{ data: anchorPayloadHex(hash) }]);
          const funded = await rpc.fundRawTransaction(created);
          const signed = await rpc.signRawTransactionWithWallet(funded.hex);
          if (!signed.complete) {
            const why = signed.errors?.map((e) => e.error).join("; ") || "incomplete signature";
            throw new BitcoinRpcError("signrawtransactionwithwallet", undefined, `the wallet could not sign every input: ${why}`, 200);
          }
          const txid = await rpc.sendRawTransaction(signed.hex);
          return { txid, network: network.data, feeBtc: funded.fee };
        }),
      ),

    async confirm(txid: string): Promise<AnchorConfirmation | BitcoindFailure | Refusal<"unknown_transaction">> {
      try {
        const tx = await rpc.getRawTransaction(txid);
        return {
          txid: tx.txid,
          confirmations: tx.confirmations ?? 0,
          ...(tx.blockhash !== undefined ? { blockhash: tx.blockhash } : {}),
          payloadHash: checkpointHashFromOutputs(tx.vout) ?? null,
        };
      } catch (err) {
        if (err instanceof BitcoinRpcError && err.code === RPC_INVALID_ADDRESS_OR_KEY) return refusal("unknown_transaction", err.message);
        const failure = bitcoindFailure(err);
        if (!failure) throw err;
        return failure;
      }
    },

    /** bitcoind answers, and its wallet too (a wallet that does not is not ok: it could not broadcast). */
    async health(): Promise<AnchorProxyHealth> {
      let info;
      try {
        info = await rpc.getBlockchainInfo();
      } catch (err) {
        const failure = bitcoindFailure(err);
        if (!failure) throw err;
        return { ok: false, reachable: failure.refused !== "bitcoind_unreachable", message: failure.message };
      }
      const balance = await rpc.getBalance().then(
        (btc) => ({ balanceBtc: btc }),
        (err: unknown) => ({ walletError: err instanceof Error ? err.message : String(err) }),
      );
      return { ok: !("walletError" in balance), reachable: true, chain: info.chain, blocks: info.blocks, ...balance };
    },
  };
}
