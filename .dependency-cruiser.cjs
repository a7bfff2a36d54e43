/**
 * The project's dependency rules (docs/decisions.md, "Layout"): arrows point inward. Gateways,
 * the CLI, the node and the worker are the outside; the app's use cases, projections and
 * adapters sit inside them; the domain is pure and imports nothing of theirs. `npm run deps`
 * checks src/, test/, bench/ and scripts/ against these rules, and `npm test` runs it, so CI does.
 *
 * No rule carries an exception for today's code: a violation is fixed where it is, not listed
 * here. test/unit/dependencyRules.unit.spec.ts runs these rules on a small tree of files that
 * break each of them, so a path pattern that matches nothing fails that test instead of passing
 * everything silently.
 */

/**
 * Node's built-in modules the domain may use: both are pure functions of their arguments.
 * node:crypto is here for `hash` (SHA-256 of the ledger's records and Merkle tree): a hash is a
 * deterministic function, and node:crypto's is many times faster than a JavaScript one. The rest
 * of node:crypto (randomBytes, randomUUID, keys) is randomness or key material, which the domain
 * takes as arguments; no import rule can tell the named imports apart, so reviews must.
 * node:util is here for isDeepStrictEqual. Every other built-in (fs, net, http, child_process,
 * worker_threads, timers, os, process, ...) is I/O, a clock or the host, and stays out.
 */
const DOMAIN_BUILTINS = ["crypto", "util"];

/**
 * npm packages the domain may import: pure libraries only (no I/O, no clock, no randomness).
 * Add one here only when that holds for every function of it the domain uses.
 */
const DOMAIN_PACKAGES = ["zod", "acorn", "canonicalize", "@noble/curves", "@noble/hashes", "@noble/ciphers"];

const alternatives = (names) => names.map((n) => n.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")).join("|");

/** The outer layer: processes and their wiring, which nothing inside may reach into. */
const OUTSIDE = "^src/(gateways|worker|cli|node)/";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment:
        "A cycle, type-only imports included: modules that need each other are one module, or share a third that both import.",
      from: {},
      to: { circular: true },
    },
    {
      name: "domain-imports-only-domain",
      severity: "error",
      comment: "src/domain is pure: it imports other domain modules and pure npm packages (DOMAIN_PACKAGES), nothing else of the project's.",
      from: { path: "^src/domain/" },
      to: { pathNot: ["^src/domain/"], dependencyTypesNot: ["core", "npm", "npm-dev", "npm-optional", "npm-peer", "npm-no-pkg", "npm-unknown"] },
    },
    {
      name: "domain-pure-packages",
      severity: "error",
      comment: "src/domain uses only pure npm packages: see DOMAIN_PACKAGES in this file and why.",
      from: { path: "^src/domain/" },
      to: {
        dependencyTypes: ["npm", "npm-dev", "npm-optional", "npm-peer", "npm-no-pkg", "npm-unknown"],
        pathNot: [`^node_modules/(${alternatives(DOMAIN_PACKAGES)})/`],
      },
    },
    {
      name: "domain-no-io-builtins",
      severity: "error",
      comment: "src/domain uses only the pure built-ins in DOMAIN_BUILTINS (see there why): no fs, net, http, child_process, ...",
      from: { path: "^src/domain/" },
      to: { dependencyTypes: ["core"], pathNot: [`^(node:)?(${alternatives(DOMAIN_BUILTINS)})$`] },
    },
    {
      name: "gateways-not-each-other",
      severity: "error",
      comment:
        "One gateway does not import another's files; what two gateways share lives in src/gateways/*.ts (or lower: app, projections, domain).",
      from: { path: "^src/gateways/([^/]+)/" },
      to: { path: "^src/gateways/[^/]+/", pathNot: ["^src/gateways/$1/"] },
    },
    {
      name: "adapters-not-outside",
      severity: "error",
      comment: "An adapter is an edge the app and the processes use: it imports no gateway, worker, CLI or node wiring.",
      from: { path: "^src/adapters/" },
      to: { path: OUTSIDE },
    },
    {
      name: "projections-not-outside",
      severity: "error",
      comment: "A projection turns events into rows and answers queries: it imports no gateway, worker, CLI or node wiring.",
      from: { path: "^src/projections/" },
      to: { path: OUTSIDE },
    },
    {
      name: "app-not-outside",
      severity: "error",
      comment: "Use cases are called by the gateways, the CLI and the worker, never the other way round.",
      from: { path: "^src/app/" },
      to: { path: OUTSIDE },
    },
    {
      name: "schemas-are-contracts",
      severity: "error",
      comment:
        "src/schemas holds the wire contracts both sides of a connection import (a gateway and the worker): built from the domain and zod only.",
      from: { path: "^src/schemas/" },
      to: { path: "^src/", pathNot: ["^src/(schemas|domain)/"] },
    },
    {
      name: "worker-not-gateways",
      severity: "error",
      comment: "The worker is another process that talks to a coordinator over HTTP: it shares the contract (src/schemas), not the gateway's code.",
      from: { path: "^src/worker/" },
      to: { path: "^src/(gateways|node|cli)/" },
    },
    {
      name: "no-tests-in-production",
      severity: "error",
      comment: "Shipped code and scripts do not import tests or benchmarks.",
      from: { path: "^(src|scripts)/" },
      to: { path: "^(test|bench)/" },
    },
    {
      name: "tests-not-bench",
      severity: "error",
      comment: "Tests do not import benchmarks (bench/ is never part of npm test).",
      from: { path: "^test/" },
      to: { path: "^bench/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(dist|\\.bench-dist)/" },
    // Type-only imports are dependencies too: a type-only cycle is still two modules that need each other.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.check.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      mainFields: ["module", "main", "types", "typings"],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
