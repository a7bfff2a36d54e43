/**
 * What of the node's environment its forked worker may see. The worker runs code from the mesh,
 * so it is the process nearest to an attacker: it gets its own settings and what a process
 * needs to run, never the node's secrets (ADMIN_API_TOKEN, DATABASE_URL, EC_CLOUD_API_KEY,
 * NATS credentials, anything an operator exported for other tools).
 */
const PASSED = new Set(["PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "NODE_EXTRA_CA_CERTS", "PYTHON_BIN", "DOCKER_HOST"]);
const PASSED_PREFIXES = ["EC_WORKER_", "EC_SANDBOX", "EC_DOCKER_"];

export function workerEnvironment(nodeEnv: NodeJS.ProcessEnv, settings: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(nodeEnv)) {
    if (value !== undefined && (PASSED.has(key) || PASSED_PREFIXES.some((p) => key.startsWith(p)))) env[key] = value;
  }
  return { ...env, ...settings };
}
