import { describe, expect, it } from "vitest";
import { bitcoinRpcConfigFrom } from "../../src/adapters/bitcoin/rpcConfig.js";
import { anchorProxyConfigFrom } from "../../src/gateways/anchor/config.js";

const token = "t".repeat(24);

describe("anchor proxy configuration from the environment", () => {
  it("given a token and RPC credentials, then regtest on loopback and port 4311 by default", () => {
    expect(anchorProxyConfigFrom({ ANCHOR_PROXY_TOKEN: token, BITCOIN_RPC_USER: "u", BITCOIN_RPC_PASSWORD: "p" })).toEqual({
      rpc: { url: "http://127.0.0.1:18443", auth: { user: "u", password: "p" } },
      token,
      host: "127.0.0.1",
      port: 4311,
    });
  });

  it("given every variable, then each is used; a cookie file instead of a password", () => {
    expect(
      anchorProxyConfigFrom({
        BITCOIN_RPC_URL: "http://10.0.0.5:8332",
        BITCOIN_RPC_COOKIE_FILE: "/var/lib/bitcoind/.cookie",
        BITCOIN_RPC_WALLET: "anchors",
        ANCHOR_PROXY_TOKEN: token,
        ANCHOR_PROXY_HOST: "0.0.0.0",
        ANCHOR_PROXY_PORT: "5311",
        BITCOIN_RPC_USER: "",
      }),
    ).toEqual({
      rpc: { url: "http://10.0.0.5:8332", auth: { cookieFile: "/var/lib/bitcoind/.cookie" }, wallet: "anchors" },
      token,
      host: "0.0.0.0",
      port: 5311,
    });
  });

  it("refuses, naming the variable: no token, a short token, no credentials, both kinds, half a password, credentials in the URL", () => {
    const creds = { BITCOIN_RPC_USER: "u", BITCOIN_RPC_PASSWORD: "p" };
    for (const [env, names] of [
      [creds, "ANCHOR_PROXY_TOKEN"],
      [{ ...creds, ANCHOR_PROXY_TOKEN: "short" }, "ANCHOR_PROXY_TOKEN"],
      [{ ANCHOR_PROXY_TOKEN: token }, "BITCOIN_RPC_COOKIE_FILE"],
      [{ ...creds, ANCHOR_PROXY_TOKEN: token, BITCOIN_RPC_COOKIE_FILE: "/c" }, "BITCOIN_RPC_COOKIE_FILE"],
      [{ BITCOIN_RPC_USER: "u", ANCHOR_PROXY_TOKEN: token }, "BITCOIN_RPC_PASSWORD"],
      [{ ...creds, ANCHOR_PROXY_TOKEN: token, BITCOIN_RPC_URL: "http://u:p@127.0.0.1:18443" }, "BITCOIN_RPC_URL"],
      [{ ...creds, ANCHOR_PROXY_TOKEN: token, ANCHOR_PROXY_PORT: "70000" }, "ANCHOR_PROXY_PORT"],
    ] as const) {
      expect(() => anchorProxyConfigFrom(env)).toThrow(names);
    }
  });

  it("given only bitcoind's variables, the auditor's RPC config is read the same way, the URL given on the command line first", () => {
    expect(bitcoinRpcConfigFrom({ BITCOIN_RPC_COOKIE_FILE: "/b/.cookie", BITCOIN_RPC_URL: "http://10.0.0.2:8332" }, "http://10.0.0.9:18443")).toEqual({
      url: "http://10.0.0.9:18443",
      auth: { cookieFile: "/b/.cookie" },
    });
    expect(() => bitcoinRpcConfigFrom({}, "http://10.0.0.9:18443")).toThrow(/bad bitcoind RPC configuration: .*BITCOIN_RPC_COOKIE_FILE/s);
    expect(() => bitcoinRpcConfigFrom({ BITCOIN_RPC_USER: "u", BITCOIN_RPC_PASSWORD: "p" }, "ftp://x")).toThrow(/BITCOIN_RPC_URL/);
  });
});
