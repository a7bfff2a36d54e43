import { readFile } from "node:fs/promises";
import { z } from "zod";
import { clnProvider, type ClnConfig } from "./cln.js";
import { lndProvider, type LndConfig } from "./lnd.js";
import { mockProvider } from "./mock.js";
import type { LightningProvider } from "./provider.js";

/**
 * Which Lightning provider the node uses, by environment variable:
 * - EC_LIGHTNING_PROVIDER: mock (the default), lnd or cln.
 * - lnd: EC_LND_REST_URL; EC_LND_MACAROON_HEX or EC_LND_MACAROON_FILE (the macaroon file LND
 *   writes, e.g. invoice.macaroon); EC_LND_TLS_CERT_FILE (LND's tls.cert) when LND's certificate
 *   is its own self-signed one.
 * - cln: EC_CLN_REST_URL, EC_CLN_RUNE; EC_CLN_TLS_CERT_FILE (clnrest's ca.pem) likewise.
 * The mock takes no money, so it is refused when EC_ENV=production.
 */
export class LightningConfigError extends Error {
  override readonly name = "LightningConfigError";
}

const requiredOr = (message?: string) => (issue: { input?: unknown }) => (issue.input === undefined ? "is required" : message);
const RestUrl = z
  .url({ protocol: /^https?$/, error: requiredOr("must be an http:// or https:// URL") })
  .refine((u) => !new URL(u).username && !new URL(u).password, "must not carry credentials");
const Hex = z.string().regex(/^([0-9a-fA-F]{2})+$/, "must be hex");
/** A rune is base64url text; anything else (a newline, a quote) is a paste gone wrong. */
const Rune = z.string({ error: requiredOr() }).regex(/^[A-Za-z0-9_=-]+$/, "must be a rune (base64url text, as createrune prints it)");
const File = z.string().min(1);

const LightningEnv = z.discriminatedUnion("EC_LIGHTNING_PROVIDER", [
  z.object({ EC_LIGHTNING_PROVIDER: z.literal("mock") }),
  z
    .object({
      EC_LIGHTNING_PROVIDER: z.literal("lnd"),
      EC_LND_REST_URL: RestUrl,
      EC_LND_MACAROON_HEX: Hex.optional(),
      EC_LND_MACAROON_FILE: File.optional(),
      EC_LND_TLS_CERT_FILE: File.optional(),
    })
    .superRefine((e, ctx) => {
      const given = [e.EC_LND_MACAROON_HEX, e.EC_LND_MACAROON_FILE].filter((v) => v !== undefined).length;
      if (given !== 1) {
        ctx.addIssue({
          code: "custom",
          path: ["EC_LND_MACAROON_HEX"],
          message: given === 0 ? "lnd needs a macaroon: set EC_LND_MACAROON_HEX or EC_LND_MACAROON_FILE" : "set either EC_LND_MACAROON_HEX or EC_LND_MACAROON_FILE, not both",
        });
      }
    }),
  z.object({
    EC_LIGHTNING_PROVIDER: z.literal("cln"),
    EC_CLN_REST_URL: RestUrl,
    EC_CLN_RUNE: Rune,
    EC_CLN_TLS_CERT_FILE: File.optional(),
  }),
]);

export type LightningSettings =
  | { readonly kind: "mock" }
  | ({ readonly kind: "lnd" } & Pick<LndConfig, "restUrl" | "macaroonHex" | "tlsCertPem">)
  | ({ readonly kind: "cln" } & Pick<ClnConfig, "restUrl" | "rune" | "tlsCertPem">);

const NAMES = [
  "EC_LIGHTNING_PROVIDER",
  "EC_LND_REST_URL",
  "EC_LND_MACAROON_HEX",
  "EC_LND_MACAROON_FILE",
  "EC_LND_TLS_CERT_FILE",
  "EC_CLN_REST_URL",
  "EC_CLN_RUNE",
  "EC_CLN_TLS_CERT_FILE",
] as const;

/** The provider's settings from the environment, files read; throws naming every bad variable. */
export async function lightningSettingsFrom(env: Record<string, string | undefined> = process.env): Promise<LightningSettings> {
  // An empty variable counts as unset, as in the other configurations of this project.
  const vars = Object.fromEntries(NAMES.map((name) => [name, env[name] || undefined]));
  vars.EC_LIGHTNING_PROVIDER ??= "mock";
  const parsed = LightningEnv.safeParse(vars);
  if (!parsed.success) throw new LightningConfigError(`bad Lightning configuration: ${z.prettifyError(parsed.error)}`);
  const e = parsed.data;
  switch (e.EC_LIGHTNING_PROVIDER) {
    case "mock":
      if (env.EC_ENV === "production") {
        throw new LightningConfigError(
          "the mock Lightning provider takes no money and is refused when EC_ENV=production: set EC_LIGHTNING_PROVIDER=lnd (with EC_LND_REST_URL and a macaroon) or cln (with EC_CLN_REST_URL and EC_CLN_RUNE)",
        );
      }
      return { kind: "mock" };
    case "lnd": {
      const macaroonHex = e.EC_LND_MACAROON_HEX ?? (await readVariableFile("EC_LND_MACAROON_FILE", e.EC_LND_MACAROON_FILE!)).toString("hex");
      const tlsCertPem = e.EC_LND_TLS_CERT_FILE === undefined ? undefined : await readPem("EC_LND_TLS_CERT_FILE", e.EC_LND_TLS_CERT_FILE);
      return { kind: "lnd", restUrl: e.EC_LND_REST_URL, macaroonHex: macaroonHex.toLowerCase(), ...(tlsCertPem ? { tlsCertPem } : {}) };
    }
    case "cln": {
      const tlsCertPem = e.EC_CLN_TLS_CERT_FILE === undefined ? undefined : await readPem("EC_CLN_TLS_CERT_FILE", e.EC_CLN_TLS_CERT_FILE);
      return { kind: "cln", restUrl: e.EC_CLN_REST_URL, rune: e.EC_CLN_RUNE, ...(tlsCertPem ? { tlsCertPem } : {}) };
    }
    default: {
      const unknown: never = e;
      return unknown;
    }
  }
}

export function lightningProviderOf(settings: LightningSettings): LightningProvider {
  switch (settings.kind) {
    case "mock":
      return mockProvider();
    case "lnd":
      return lndProvider(settings);
    case "cln":
      return clnProvider(settings);
    default: {
      const unknown: never = settings;
      return unknown;
    }
  }
}

/** The provider the environment names (see the top of this file); throws LightningConfigError naming what is wrong. */
export async function lightningProviderFrom(env: Record<string, string | undefined> = process.env): Promise<LightningProvider> {
  return lightningProviderOf(await lightningSettingsFrom(env));
}

async function readVariableFile(name: string, file: string): Promise<Buffer> {
  try {
    const bytes = await readFile(file);
    if (bytes.length === 0) throw new LightningConfigError(`${name}: ${file} is empty`);
    return bytes;
  } catch (err) {
    if (err instanceof LightningConfigError) throw err;
    throw new LightningConfigError(`${name}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

async function readPem(name: string, file: string): Promise<string> {
  const text = (await readVariableFile(name, file)).toString("utf8");
  if (!text.includes("-----BEGIN CERTIFICATE-----")) throw new LightningConfigError(`${name}: ${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return text;
}
