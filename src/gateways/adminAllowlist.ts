import { BlockList, isIP } from "node:net";
import type { FastifyReply, FastifyRequest } from "fastify";

/**
 * EC_ADMIN_ALLOWLIST: the addresses the operator's routes answer, as a comma-separated list of
 * addresses and CIDR ranges (IPv4 and IPv6). A request from anywhere else is refused (403)
 * before its token is looked at, so a leaked token is no use from outside the list.
 */
export function parseAllowlist(text: string): { entries: string[]; list: BlockList } {
  const list = new BlockList();
  const entries = text
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e !== "");
  for (const entry of entries) {
    const [address, bits, extra] = entry.split("/");
    const family = isIP(address ?? "");
    if (family === 0 || extra !== undefined) throw new Error(`EC_ADMIN_ALLOWLIST: ${JSON.stringify(entry)} is not an address or a CIDR range`);
    const type = family === 4 ? "ipv4" : "ipv6";
    if (bits === undefined) {
      list.addAddress(address!, type);
      continue;
    }
    const prefix = Number(bits);
    if (!/^\d{1,3}$/.test(bits) || prefix > (family === 4 ? 32 : 128)) throw new Error(`EC_ADMIN_ALLOWLIST: ${JSON.stringify(entry)} has a bad prefix length`);
    list.addSubnet(address!, prefix, type);
  }
  return { entries, list };
}

/** An IPv4 address a dual-stack socket reports as ::ffff:a.b.c.d, as itself. */
const unmapped = (ip: string) => (ip.startsWith("::ffff:") && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip);

export function requireAllowedAddress(allowlist: string) {
  const { list } = parseAllowlist(allowlist);
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const ip = unmapped(req.socket.remoteAddress ?? "");
    const family = isIP(ip);
    if (family === 0 || !list.check(ip, family === 4 ? "ipv4" : "ipv6")) {
      return reply.code(403).send({ error: "address_not_allowed", message: `the operator's routes do not answer ${ip || "this address"} (EC_ADMIN_ALLOWLIST)` });
    }
  };
}
