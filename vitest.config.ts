import { defineConfig } from "vitest/config";

// Integration tests start their own nats-server processes and create their own databases, so
// files may run in parallel; two workers match the two cores these machines have.
export default defineConfig({
  test: {
    include: ["test/**/*.spec.ts"],
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
