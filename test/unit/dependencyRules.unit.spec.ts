import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { cruise, type ICruiseResult } from "dependency-cruiser";
import extractDepcruiseOptions from "dependency-cruiser/config-utl/extract-depcruise-options";
import extractTSConfig from "dependency-cruiser/config-utl/extract-ts-config";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The project's dependency rules (.dependency-cruiser.cjs, run by `npm run deps` in `npm test`)
 * on a small tree laid out like the project's, where each rule is broken by exactly one import and
 * the imports the rules allow stand beside them. A rule whose path pattern matched nothing would
 * pass the real tree silently; here it would miss its violation and fail.
 */

const CONFIG = resolve(".dependency-cruiser.cjs");

const pkg = (name: string) => ({
  [`node_modules/${name}/package.json`]: JSON.stringify({ name, type: "module", main: "index.js" }),
  [`node_modules/${name}/index.js`]: `export const ${name} = 1;\n`,
});

/** Each file's imports name what they test: `bad*` break a rule, everything else is allowed. */
const FIXTURE: Record<string, string> = {
  "package.json": JSON.stringify({ name: "fixture", type: "module", dependencies: { zod: "1", pg: "1" } }),
  "tsconfig.json": JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", strict: true } }),
  ...pkg("zod"),
  ...pkg("pg"),
  // The domain: pure built-ins and packages allowed, I/O and the outer layers not; a type-only cycle.
  "src/domain/tasks/pure.ts": [
    'import { hash } from "node:crypto";',
    'import { isDeepStrictEqual } from "node:util";',
    'import { zod } from "zod";',
    'import { shape } from "../events/shape.js";',
    "export const pure = [hash, isDeepStrictEqual, zod, shape];",
  ].join("\n"),
  "src/domain/events/shape.ts": "export const shape = 1;\n",
  "src/domain/tasks/impure.ts": [
    'import { readFileSync } from "node:fs";',
    'import { pg } from "pg";',
    'import { adapter } from "../../adapters/store/adapter.js";',
    "export const impure = [readFileSync, pg, adapter];",
  ].join("\n"),
  "src/domain/tasks/cycleA.ts": 'import type { B } from "./cycleB.js";\nexport type A = { b?: B };\n',
  "src/domain/tasks/cycleB.ts": 'import type { A } from "./cycleA.js";\nexport type B = { a?: A };\n',
  // Adapters use the domain, never the processes around them.
  "src/adapters/store/adapter.ts": 'import { shape } from "../../domain/events/shape.js";\nexport const adapter = shape;\n',
  "src/adapters/store/badAdapter.ts": [
    'import { route } from "../../gateways/coordinator/route.js";',
    'import { loop } from "../../worker/loop.js";',
    "export const badAdapter = [route, loop];",
  ].join("\n"),
  // Gateways: their own files and the shared ones in src/gateways/*.ts, not another gateway's.
  "src/gateways/shared.ts": "export const shared = 1;\n",
  "src/gateways/coordinator/route.ts": [
    'import { shared } from "../shared.js";',
    'import { helper } from "./helper.js";',
    'import { contract } from "../../schemas/contract.js";',
    "export const route = [shared, helper, contract];",
  ].join("\n"),
  "src/gateways/coordinator/helper.ts": "export const helper = 1;\n",
  "src/gateways/controlPlane/adminRoute.ts": 'import { helper } from "../coordinator/helper.js";\nexport const adminRoute = helper;\n',
  // The worker shares the wire contract with the gateway, not the gateway's code.
  "src/schemas/contract.ts": 'import { shape } from "../domain/events/shape.js";\nexport const contract = shape;\n',
  "src/schemas/badContract.ts": 'import { adapter } from "../adapters/store/adapter.js";\nexport const badContract = adapter;\n',
  "src/worker/loop.ts": 'import { contract } from "../schemas/contract.js";\nimport { adapter } from "../adapters/store/adapter.js";\nexport const loop = [contract, adapter];\n',
  "src/worker/badLoop.ts": 'import { route } from "../gateways/coordinator/route.js";\nexport const badLoop = route;\n',
  // Use cases and projections sit inside the processes.
  "src/app/useCase.ts": 'import { adapter } from "../adapters/store/adapter.js";\nexport const useCase = adapter;\n',
  "src/app/badUseCase.ts": 'import { wiring } from "../node/wiring.js";\nexport const badUseCase = wiring;\n',
  "src/projections/badProjector.ts": 'import { command } from "../cli/command.js";\nexport const badProjector = command;\n',
  "src/node/wiring.ts": 'import { useCase } from "../app/useCase.js";\nimport { route } from "../gateways/coordinator/route.js";\nexport const wiring = [useCase, route];\n',
  "src/cli/command.ts": 'import { wiring } from "../node/wiring.js";\nexport const command = wiring;\n',
  "src/cli/badCommand.ts": 'import { helperForTests } from "../../test/support/helper.js";\nexport const badCommand = helperForTests;\n',
  // Tests and benches may use the code; nothing shipped uses them, and tests leave bench/ alone.
  "test/support/helper.ts": 'import { command } from "../../src/cli/command.js";\nexport const helperForTests = command;\n',
  "test/unit/bad.spec.ts": 'import { figures } from "../../bench/figures.js";\nexport const bad = figures;\n',
  "bench/figures.ts": 'import { helperForTests } from "../test/support/helper.js";\nexport const figures = helperForTests;\n',
  "scripts/badScript.ts": 'import { figures } from "../bench/figures.js";\nexport const badScript = figures;\n',
};

const EXPECTED: ReadonlyArray<readonly [rule: string, from: string, to: string]> = [
  ["adapters-not-outside", "src/adapters/store/badAdapter.ts", "src/gateways/coordinator/route.ts"],
  ["adapters-not-outside", "src/adapters/store/badAdapter.ts", "src/worker/loop.ts"],
  ["app-not-outside", "src/app/badUseCase.ts", "src/node/wiring.ts"],
  ["domain-imports-only-domain", "src/domain/tasks/impure.ts", "src/adapters/store/adapter.ts"],
  ["domain-no-io-builtins", "src/domain/tasks/impure.ts", "fs"],
  ["domain-pure-packages", "src/domain/tasks/impure.ts", "node_modules/pg/index.js"],
  ["gateways-not-each-other", "src/gateways/controlPlane/adminRoute.ts", "src/gateways/coordinator/helper.ts"],
  ["no-circular", "src/domain/tasks/cycleA.ts", "src/domain/tasks/cycleB.ts"],
  ["no-tests-in-production", "scripts/badScript.ts", "bench/figures.ts"],
  ["no-tests-in-production", "src/cli/badCommand.ts", "test/support/helper.ts"],
  ["projections-not-outside", "src/projections/badProjector.ts", "src/cli/command.ts"],
  ["schemas-are-contracts", "src/schemas/badContract.ts", "src/adapters/store/adapter.ts"],
  ["tests-not-bench", "test/unit/bad.spec.ts", "bench/figures.ts"],
  ["worker-not-gateways", "src/worker/badLoop.ts", "src/gateways/coordinator/route.ts"],
];

describe("the dependency rules", () => {
  let dir: string;
  let result: ICruiseResult;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ec-dependency-rules-"));
    for (const [path, text] of Object.entries(FIXTURE)) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), text);
    }
    // The project's own options, but resolved against the fixture's tree and tsconfig.
    const { tsConfig: _projectTsConfig, ...options } = await extractDepcruiseOptions(CONFIG);
    const cruised = await cruise(["src", "test", "bench", "scripts"], { ...options, baseDir: dir }, {}, { tsConfig: extractTSConfig(join(dir, "tsconfig.json")) });
    result = cruised.output as ICruiseResult;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("report each broken rule once, and nothing they allow", () => {
    const found = result.summary.violations.map((v) => [v.rule.name, v.from, v.to] as const);
    expect([...found].sort()).toEqual([...EXPECTED].sort());
  });

  it("see type-only imports: the type-only cycle is reported", () => {
    const cycle = result.summary.violations.find((v) => v.rule.name === "no-circular");
    expect(cycle?.cycle?.map((step) => step.name)).toEqual(["src/domain/tasks/cycleB.ts", "src/domain/tasks/cycleA.ts"]);
  });

  it("are each broken by the tree above, so a new rule needs its case here", async () => {
    const { ruleSet } = await extractDepcruiseOptions(CONFIG);
    const names = (ruleSet?.forbidden ?? []).map((rule) => rule.name);
    expect(new Set(names)).toEqual(new Set(EXPECTED.map(([rule]) => rule)));
  });

  it("start from folders the project has: a renamed folder fails here, not silently", async () => {
    const files: string[] = [];
    for (const top of ["src", "test", "bench", "scripts"]) {
      for (const entry of await readdir(top, { recursive: true })) files.push(`${top}/${entry}`);
    }
    const { ruleSet } = await extractDepcruiseOptions(CONFIG);
    for (const rule of ruleSet?.forbidden ?? []) {
      const from = rule.from.path;
      if (from === undefined) continue;
      for (const pattern of Array.isArray(from) ? from : [from]) {
        expect(files.some((file) => new RegExp(pattern).test(file)), `${rule.name}: ${pattern}`).toBe(true);
      }
    }
  });
});
