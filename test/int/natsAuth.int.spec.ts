import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectNats } from "../../src/adapters/nats/connection.js";
import { createEventStore } from "../../src/adapters/nats/eventStore.js";
import { NatsServerProcess } from "../../src/adapters/nats/natsServerProcess.js";
import { jetStreamPublisher } from "../../src/adapters/nats/publisher.js";
import { applyStreams } from "../../src/adapters/nats/streams.js";
import { packageRoot } from "../../src/adapters/packageRoot.js";
import { creditEarned, newSigner } from "../support/events.js";

// The users of deploy/nats/accounts.conf, with passwords from the environment as in production.
process.env.EC_NATS_PASSWORD = "nodepw0123456789abcdef";
process.env.EC_AUDITOR_PASSWORD = "auditpw0123456789abcdef";
process.env.EC_SYS_PASSWORD = "syspw0123456789abcdef";

let server: NatsServerProcess;
let storeDir: string;
const url = (user: string, pass: string) => server.url.replace("nats://", `nats://${user}:${pass}@`);

beforeAll(async () => {
  storeDir = await mkdtemp(join(tmpdir(), "ec-nats-auth-"));
  // nats-server resolves includes relative to the config file, which lives in the store folder.
  const accounts = relative(storeDir, join(packageRoot, "deploy/nats/accounts.conf"));
  server = await NatsServerProcess.start({ storeDir, extraConfig: `include ${JSON.stringify(accounts)}` });
});
afterAll(async () => {
  await server?.stop();
  await rm(storeDir, { recursive: true, force: true });
});

describe("deploy/nats users through connectNats", () => {
  it("refuses a connection without credentials", async () => {
    await expect(connectNats(server.url, "anonymous")).rejects.toThrow(/Authorization Violation/i);
  });

  it("lets the node user, with credentials in the URL, apply streams and append", async () => {
    const nc = await connectNats(url("edgecoder", process.env.EC_NATS_PASSWORD!), "node");
    await applyStreams(nc);
    const store = await createEventStore(nc);
    const subject = "ec.credits.account.audited";
    expect((await store.append(subject, [creditEarned(newSigner(), subject, 5)], 0)).duplicate).toBe(false);
    store.close();
    await nc.close();
  });

  it("does not let the node user delete or purge a stream, or a message of one", async () => {
    const nc = await connectNats(url("edgecoder", process.env.EC_NATS_PASSWORD!), "node");
    const jsm = await jetstreamManager(nc);
    await expect(jsm.streams.delete("EC_CREDITS")).rejects.toThrow();
    await expect(jsm.streams.purge("EC_CREDITS")).rejects.toThrow();
    await expect(jsm.streams.deleteMessage("EC_CREDITS", 1)).rejects.toThrow();
    expect((await jsm.streams.info("EC_CREDITS")).state.messages).toBe(1);
    await nc.close();
  });

  it("lets the auditor read the streams but not append to them", async () => {
    const nc = await connectNats(url("auditor", process.env.EC_AUDITOR_PASSWORD!), "auditor");
    const store = await createEventStore(nc);
    const { commits } = await store.readAggregate("ec.credits.account.audited");
    expect(commits).toHaveLength(1);
    const publisher = jetStreamPublisher(nc, 1000);
    const event = creditEarned(newSigner(), "ec.credits.account.audited", 1);
    await expect(publisher.publish("ec.credits.account.audited", new TextEncoder().encode(JSON.stringify([event])), { msgId: event.id })).rejects.toThrow(
      /no JetStream ack/,
    );
    expect((await store.readAggregate("ec.credits.account.audited")).commits).toHaveLength(1);
    publisher.close();
    store.close();
    await nc.close();
  });
});
