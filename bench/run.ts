/**
 * `npm run bench`: the backbone's figures, each printed as one JSON line beside the raw limit
 * measured in the same run. Never part of `npm test`.
 */
import { connectNats } from "../src/adapters/nats/connection.js";
import { applyStreams } from "../src/adapters/nats/streams.js";
import { creditWriter, rawPublishRate, signedAppendRate } from "./appends.js";
import { rawCopyRate, replayInChild } from "./rebuild.js";
import { benchDatabase, benchNats, report } from "./support.js";

const ACCOUNTS = 1000;
const HALF = 100_000;

const nats = await benchNats();
const db = await benchDatabase();
try {
  const nc = await connectNats(nats.server.url, "bench");
  await applyStreams(nc);

  const raw = await rawPublishRate(nc, HALF, ACCOUNTS);
  // One long-lived writer, as in a running node: its aggregate cache stays warm between rounds.
  const writer = await creditWriter(nc);
  const signed = await signedAppendRate(writer, ACCOUNTS, HALF / ACCOUNTS);
  report("signed_appends_per_s", signed, "appends/s", raw);

  // Rebuilds at 100k and 200k events. The first rebuild of a range verifies every signature
  // (cold); later ones skip the Ed25519 check for commits whose exact bytes were verified before.
  const cold100 = await replayInChild(nats.server.url, db.url);
  const warm100 = await replayInChild(nats.server.url, db.url);
  await signedAppendRate(writer, ACCOUNTS, HALF / ACCOUNTS);
  await writer.close();
  const copy200 = await rawCopyRate(nc, db.url);
  const cold200 = await replayInChild(nats.server.url, db.url);
  const warm200 = await replayInChild(nats.server.url, db.url);
  const rate = (s: { events: number; ms: number }) => s.events / (s.ms / 1000);
  report("rebuild_200k_events_per_s", rate(warm200), "events/s", copy200);
  report("rebuild_200k_cold_events_per_s", rate(cold200), "events/s", copy200);
  report("rebuild_100k_peak_rss", warm100.peakRssMiB, "MiB", cold100.peakRssMiB);
  report("rebuild_200k_peak_rss", warm200.peakRssMiB, "MiB", warm100.peakRssMiB);
  report("rebuild_200k_cold_peak_rss", cold200.peakRssMiB, "MiB", cold100.peakRssMiB);
  await nc.close();
} finally {
  await db.drop();
  await nats.close();
}
