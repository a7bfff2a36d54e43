import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LightningConfigError, lightningProviderFrom, lightningSettingsFrom } from "../../src/adapters/lightning/config.js";

let dir: string;
let macaroonFile: string;
let certFile: string;
const macaroonBytes = Buffer.from("0201036c6e6402f801030a10", "hex");
const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ec-lightning-config-"));
  macaroonFile = join(dir, "invoice.macaroon");
  certFile = join(dir, "tls.cert");
  await writeFile(macaroonFile, macaroonBytes);
  await writeFile(certFile, pem);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const lnd = { EC_LIGHTNING_PROVIDER: "lnd", EC_LND_REST_URL: "https://lnd.internal:8080" };
const cln = { EC_LIGHTNING_PROVIDER: "cln", EC_CLN_REST_URL: "https://cln.internal:3010", EC_CLN_RUNE: "tU-RLjMiDpY2U0o3W1oFowar36RFGpWloPbW9-RuZdo9MyZpZD0wMjRiOWExZmE4ZTAwNmYxZTM5MzdmNjVmNjZjNDA4ZTZkYTg" };

async function refusal(env: Record<string, string | undefined>): Promise<string> {
  const err = await lightningSettingsFrom(env).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LightningConfigError);
  return (err as Error).message;
}

describe("choosing the Lightning provider from the environment", () => {
  it("given nothing, is the development mock, labelled as such", async () => {
    const provider = await lightningProviderFrom({});
    expect(provider).toMatchObject({ kind: "mock", development: true });
    expect(provider.label).toMatch(/development only/);
    expect(await lightningSettingsFrom({ EC_LIGHTNING_PROVIDER: "", EC_ENV: "development" })).toEqual({ kind: "mock" });
  });

  it("refuses the mock when EC_ENV=production, whether named or by default, and says how to fix it", async () => {
    for (const env of [{ EC_ENV: "production" }, { EC_ENV: "production", EC_LIGHTNING_PROVIDER: "mock" }]) {
      const message = await refusal(env);
      expect(message).toMatch(/mock .*refused when EC_ENV=production/);
      expect(message).toMatch(/EC_LIGHTNING_PROVIDER=lnd .*or cln/);
    }
  });

  it("lnd: takes the macaroon as hex or from LND's binary file, and the TLS certificate from its file", async () => {
    expect(await lightningSettingsFrom({ ...lnd, EC_LND_MACAROON_HEX: "0201ABCD" })).toEqual({ kind: "lnd", restUrl: lnd.EC_LND_REST_URL, macaroonHex: "0201abcd" });
    expect(await lightningSettingsFrom({ ...lnd, EC_LND_MACAROON_FILE: macaroonFile, EC_LND_TLS_CERT_FILE: certFile, EC_ENV: "production" })).toEqual({
      kind: "lnd",
      restUrl: lnd.EC_LND_REST_URL,
      macaroonHex: macaroonBytes.toString("hex"),
      tlsCertPem: pem,
    });
    expect(await lightningProviderFrom({ ...lnd, EC_LND_MACAROON_HEX: "0201" })).toMatchObject({ kind: "lnd", development: false, label: "lnd at https://lnd.internal:8080" });
  });

  it("cln: takes the URL, the rune and clnrest's CA file", async () => {
    expect(await lightningSettingsFrom({ ...cln, EC_CLN_TLS_CERT_FILE: certFile })).toEqual({ kind: "cln", restUrl: cln.EC_CLN_REST_URL, rune: cln.EC_CLN_RUNE, tlsCertPem: pem });
    expect(await lightningProviderFrom(cln)).toMatchObject({ kind: "cln", development: false, label: "cln at https://cln.internal:3010" });
  });

  it("names the variable that is missing", async () => {
    expect(await refusal({ EC_LIGHTNING_PROVIDER: "lnd", EC_LND_MACAROON_HEX: "02" })).toMatch(/is required\s+→ at EC_LND_REST_URL/);
    expect(await refusal(lnd)).toMatch(/lnd needs a macaroon: set EC_LND_MACAROON_HEX or EC_LND_MACAROON_FILE/);
    expect(await refusal({ EC_LIGHTNING_PROVIDER: "cln", EC_CLN_RUNE: cln.EC_CLN_RUNE })).toMatch(/is required\s+→ at EC_CLN_REST_URL/);
    expect(await refusal({ EC_LIGHTNING_PROVIDER: "cln", EC_CLN_REST_URL: cln.EC_CLN_REST_URL })).toMatch(/is required\s+→ at EC_CLN_RUNE/);
  });

  it("names the variable that is wrong, and the file that cannot be read", async () => {
    expect(await refusal({ EC_LIGHTNING_PROVIDER: "eclair" })).toMatch(/EC_LIGHTNING_PROVIDER/);
    expect(await refusal({ ...lnd, EC_LND_REST_URL: "ftp://lnd:8080", EC_LND_MACAROON_HEX: "02" })).toMatch(/http:\/\/ or https:\/\/ URL\s+→ at EC_LND_REST_URL/);
    expect(await refusal({ ...lnd, EC_LND_REST_URL: "https://user:pw@lnd:8080", EC_LND_MACAROON_HEX: "02" })).toMatch(/must not carry credentials\s+→ at EC_LND_REST_URL/);
    expect(await refusal({ ...lnd, EC_LND_MACAROON_HEX: "not hex" })).toMatch(/must be hex\s+→ at EC_LND_MACAROON_HEX/);
    expect(await refusal({ ...lnd, EC_LND_MACAROON_HEX: "02", EC_LND_MACAROON_FILE: macaroonFile })).toMatch(/either EC_LND_MACAROON_HEX or EC_LND_MACAROON_FILE, not both/);
    expect(await refusal({ ...cln, EC_CLN_RUNE: "rune with\nnewline" })).toMatch(/must be a rune.*\s+→ at EC_CLN_RUNE/);
    expect(await refusal({ ...lnd, EC_LND_MACAROON_FILE: join(dir, "absent.macaroon") })).toMatch(/EC_LND_MACAROON_FILE: cannot read .*absent\.macaroon \(ENOENT\)/);
    expect(await refusal({ ...cln, EC_CLN_TLS_CERT_FILE: macaroonFile })).toMatch(/EC_CLN_TLS_CERT_FILE: .* holds no PEM certificate/);
  });
});
