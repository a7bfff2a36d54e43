import { BASE_SATS_PER_UNIT } from "./pricing.js";

/** The coordinator's fee on a Lightning top-up: REFERENCE's 150 basis points (1.5%). */
export const COORDINATOR_FEE_BASIS_POINTS = 150;

/**
 * The rate a top-up converts at: one credit for the network price of one CPU compute unit.
 * A credit is what one CPU-second of work earns (1.0/s) and a CPU unit is what the mesh charges
 * for it, so a credit bought costs what a credit of work is priced at: at balance 30 sats, more
 * when the mesh is busy. The GPU price is four times the CPU's as a GPU second earns four
 * credits, so one rate serves both. The app passes the CPU network price (or its own price when
 * no proposal is current) when the intent is created; the quote is fixed then, so the payer
 * knows what the invoice buys.
 */
export const DEFAULT_SATS_PER_CREDIT = BASE_SATS_PER_UNIT.cpu;

export interface Settlement {
  /** What the payer's account receives. */
  readonly mintedMillicredits: number;
  /** What the coordinator's account receives. */
  readonly feeMillicredits: number;
}

/**
 * Sats paid into millicredits at the quoted rate, rounded down (a fraction of a millicredit is
 * never made up), then the fee, rounded down too (the payer never pays more than 1.5%): minted
 * and fee sum exactly to the converted amount.
 */
export function settlementOf(amountPaidSats: number, satsPerCredit: number): Settlement {
  const gross = Math.floor((amountPaidSats * 1000) / satsPerCredit);
  const fee = Math.floor((gross * COORDINATOR_FEE_BASIS_POINTS) / 10_000);
  return { mintedMillicredits: gross - fee, feeMillicredits: fee };
}
