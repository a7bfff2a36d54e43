import { describe, expect, it } from "vitest";
import { cli } from "../support/cli.js";

/**
 * `edgecoder up` with a bad setting: the node's process reads the settings (its supervisor loads
 * no schemas), and the supervisor must still stop at once with the child's exit code 2, naming
 * the setting once, rather than start it again and again.
 */
describe("edgecoder up with a bad setting", () => {
  for (const args of [["up"], ["up", "--no-restart"]]) {
    it(`${args.join(" ")}: exits 2 naming the setting, once`, async () => {
      const r = await cli(args, { env: { EC_SANDBOX: "nonsense", EC_DATA_DIR: "/tmp/ec-up-config-test" } });
      expect(r.code).toBe(2);
      expect(r.stderr.match(/bad configuration/g)).toHaveLength(1);
      expect(r.stderr).toMatch(/sandbox/);
      expect(r.stdout).not.toMatch(/starting it again/);
    }, 30_000);
  }

  it("up --no-restart in production with the mock Lightning provider: exits 2 naming it, before anything starts", async () => {
    const r = await cli(["up", "--no-restart"], { env: { EC_ENV: "production", EC_LIGHTNING_PROVIDER: "", EC_DATA_DIR: "/tmp/ec-up-config-test" } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/mock Lightning provider takes no money and is refused when EC_ENV=production/);
    expect(r.stdout).not.toMatch(/streams:|postgres/);
  }, 30_000);
});
