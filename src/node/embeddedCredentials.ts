import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { z } from "zod";
import { loadOrCreateSecretFile } from "../adapters/secrets/secretFile.js";

export const EMBEDDED_CREDENTIALS_FILE = "embedded-credentials.json";

// nats-server re-reads a variable's value as a config token: only letters and digits, starting
// with a letter, stay a string (a value like "4e1f..." is read as a number and refused).
const Secret = z.string().regex(/^ec[0-9a-f]{32,}$/);
const Credentials = z.object({ natsNode: Secret, natsAuditor: Secret, natsSys: Secret, postgres: Secret });
export type EmbeddedCredentials = z.infer<typeof Credentials>;

const fresh = () => `ec${randomBytes(24).toString("hex")}`;

/**
 * Passwords of the embedded nats-server's users and of the embedded Postgres, generated once into
 * the data folder (0600), so no other local process can delete a stream or update a read model.
 */
export async function loadOrCreateEmbeddedCredentials(dataDir: string): Promise<EmbeddedCredentials> {
  const { value } = await loadOrCreateSecretFile(join(dataDir, EMBEDDED_CREDENTIALS_FILE), {
    what: "set of embedded credentials",
    create: () => JSON.stringify({ natsNode: fresh(), natsAuditor: fresh(), natsSys: fresh(), postgres: fresh() }, null, 2) + "\n",
    parse: (text) => {
      try {
        const parsed = Credentials.safeParse(JSON.parse(text));
        return parsed.success ? parsed.data : undefined;
      } catch {
        return undefined;
      }
    },
  });
  return value;
}
