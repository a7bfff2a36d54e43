import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import type { PGlite } from "@electric-sql/pglite";

// Codes of the untyped packets a client may send before its startup message.
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 196608;
const MAX_STARTUP = 10_000;
const MAX_MESSAGE = 1 << 30;

export interface WireServerOptions {
  readonly db: PGlite;
  readonly host: string;
  readonly port: number;
  readonly maxConnections: number;
  /** How long a statement waits for another connection's open transaction before it fails. */
  readonly waitTimeoutMs: number;
  /**
   * The password every client must give (cleartext password authentication: the server listens
   * on loopback only, where no other user can read the traffic). Unset: no authentication.
   */
  readonly password?: string;
  readonly onError?: (err: unknown) => void;
}

/**
 * The Postgres wire protocol over one PGlite session, for `pg`, node-pg-migrate and
 * pg-copy-streams. PGlite is a single backend, so connections take turns: a connection owns the
 * session from its first message until the backend reports ReadyForQuery 'I' (idle), which
 * covers both an extended-protocol batch (Parse..Sync) and an explicit transaction. Everything
 * session-level (prepared statement names, SET, advisory locks, temp tables) is shared.
 *
 * @electric-sql/pglite-socket 0.2.17 was not used: its multiplexer switches connections between
 * single messages outside explicit transactions, so one client's Bind can meet another client's
 * Parse ("bind message supplies 2 parameters, but prepared statement "" requires 1", or silently
 * the wrong statement), and it hands COPY FROM STDIN to PGlite before the data exists, which
 * ends the backend.
 */
export class PgliteWireServer {
  private readonly connections = new Set<WireConnection>();
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private readonly session: Session,
    readonly port: number,
  ) {}

  static async listen(opts: WireServerOptions): Promise<PgliteWireServer> {
    const session = new Session(opts.db, opts.waitTimeoutMs, opts.onError, opts.password === undefined ? undefined : digest(opts.password));
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port, opts.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const address = server.address();
    if (!address || typeof address !== "object") throw new Error("embedded Postgres: the server has no TCP address");
    const wire = new PgliteWireServer(server, session, address.port);
    server.on("connection", (socket) => wire.accept(socket, opts.maxConnections));
    return wire;
  }

  private accept(socket: Socket, maxConnections: number): void {
    socket.setNoDelay(true);
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
    if (this.connections.size >= maxConnections) {
      endWith(socket, errorResponse("53300", `sorry, too many clients already (the embedded Postgres accepts ${maxConnections})`, "FATAL"));
      return;
    }
    const conn = new WireConnection(socket, this.session);
    this.connections.add(conn);
    void conn.finished.then(() => this.connections.delete(conn));
  }

  /** Stops accepting, drops every connection and rolls back what one of them left open. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const open = [...this.connections];
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(open.map((c) => c.finished));
    await closed;
  }
}

type Status = "I" | "T" | "E";

/** The one PGlite backend and whose turn it is. */
class Session {
  private owner: WireConnection | null = null;
  private readonly queue: { conn: WireConnection; grant: (granted: boolean) => void }[] = [];

  constructor(
    readonly db: PGlite,
    readonly waitTimeoutMs: number,
    readonly onError: ((err: unknown) => void) | undefined,
    private readonly passwordDigest: Buffer | undefined,
  ) {}

  get requiresPassword(): boolean {
    return this.passwordDigest !== undefined;
  }

  passwordMatches(given: string): boolean {
    return this.passwordDigest === undefined || timingSafeEqual(digest(given), this.passwordDigest);
  }

  ownedBy(conn: WireConnection): boolean {
    return this.owner === conn;
  }

  /** Resolves false when the wait timed out or was abandoned. */
  acquire(conn: WireConnection): Promise<boolean> {
    if (this.owner === null && this.queue.length === 0) {
      this.owner = conn;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const waiter = {
        conn,
        grant: (granted: boolean) => {
          clearTimeout(timer);
          if (granted) this.owner = conn;
          resolve(granted);
        },
      };
      const timer = setTimeout(() => this.abandon(conn), this.waitTimeoutMs).unref();
      this.queue.push(waiter);
    });
  }

  abandon(conn: WireConnection): void {
    const i = this.queue.findIndex((w) => w.conn === conn);
    if (i >= 0) this.queue.splice(i, 1)[0]!.grant(false);
  }

  release(conn: WireConnection): void {
    if (this.owner !== conn) return;
    this.owner = null;
    this.queue.shift()?.grant(true);
  }

  /**
   * Runs protocol messages and streams the backend's answer to `sink`. Returns the status of the
   * ReadyForQuery that ends the answer, or null when the answer does not end with one.
   */
  async exec(messages: Uint8Array, sink: (data: Buffer) => void, dropCopyInResponse = false): Promise<Status | null> {
    let head: Buffer | null = dropCopyInResponse ? Buffer.alloc(0) : null;
    let skip = 0;
    let tail = Buffer.alloc(0);
    await this.db.runExclusive(() =>
      this.db.execProtocolRawStream(messages, {
        onRawData: (raw) => {
          // A copy: the chunk may be a view of PGlite's memory, reused after this call.
          let data: Buffer = Buffer.from(raw);
          if (head) {
            head = Buffer.concat([head, data]);
            if (head.length < 5) return;
            data = head;
            head = null;
            if (data[0] === 0x47) skip = 1 + data.readInt32BE(1);
          }
          if (skip > 0) {
            const n = Math.min(skip, data.length);
            skip -= n;
            data = data.subarray(n);
          }
          if (data.length === 0) return;
          tail = Buffer.concat([tail, data.subarray(-6)]).subarray(-6);
          sink(data);
        },
      }),
    );
    // Only a ReadyForQuery can end an answer with these bytes: every other final message ends in NUL.
    if (tail.length === 6 && tail[0] === 0x5a && tail.readInt32BE(1) === 5) return String.fromCharCode(tail[5]!) as Status;
    return null;
  }
}

/** One client socket: its framing, its turn on the session, and COPY FROM STDIN. */
class WireConnection {
  readonly finished: Promise<void>;
  private finish!: () => void;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private started = false;
  private pumping = false;
  private closed = false;
  private copyIn: Buffer[] | null = null;
  private ignoreTillSync = false;
  private left = false;
  /** The startup message, held until the client has given the password. */
  private awaitingPassword: Buffer | null = null;

  constructor(
    private readonly socket: Socket,
    private readonly session: Session,
  ) {
    this.finished = new Promise((resolve) => (this.finish = resolve));
    socket.on("data", (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      void this.pump();
    });
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      this.closed = true;
      this.session.abandon(this);
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let m = this.next(); m && !this.closed; m = this.next()) await this.handle(m.type, m.bytes);
    } catch (err) {
      this.session.onError?.(err);
      this.socket.destroy();
    } finally {
      this.pumping = false;
    }
    if (this.closed) await this.leave();
  }

  /** The next complete packet, or null while it is still arriving. */
  private next(): { type: string; bytes: Buffer } | null {
    const headerSize = this.started ? 5 : 8;
    if (this.buffered < headerSize) return null;
    if (this.chunks[0]!.length < headerSize) this.chunks = [Buffer.concat(this.chunks)];
    const first = this.chunks[0]!;
    const length = this.started ? 1 + first.readInt32BE(1) : first.readInt32BE(0);
    if (this.started ? length < 5 || length > MAX_MESSAGE : length < 8 || length > MAX_STARTUP) {
      this.socket.destroy();
      return null;
    }
    if (this.buffered < length) return null;
    let all: Buffer;
    if (first.length >= length) all = this.chunks.shift()!;
    else [all, this.chunks] = [Buffer.concat(this.chunks), []];
    const bytes = all.subarray(0, length);
    if (all.length > length) this.chunks.unshift(all.subarray(length));
    this.buffered -= length;
    return { type: this.started ? String.fromCharCode(bytes[0]!) : "startup", bytes };
  }

  private async handle(type: string, bytes: Buffer): Promise<void> {
    if (type === "startup") return this.startup(bytes);
    if (this.awaitingPassword) return this.password(type, bytes);
    if (type === "X") return endWith(this.socket);
    if (this.copyIn) {
      if (type === "d") this.copyIn.push(bytes);
      // Postgres ignores Flush and Sync during COPY; CopyDone, CopyFail or anything else ends it.
      else if (type !== "H" && type !== "S") {
        const copy = Buffer.concat([...this.copyIn, bytes]);
        this.copyIn = null;
        await this.run("Q", copy, true);
      }
      return;
    }
    if (this.ignoreTillSync) {
      if (type === "S") {
        this.ignoreTillSync = false;
        this.write(readyForQuery("I"));
      }
      return;
    }
    if (type === "Q") {
      const sql = cstring(bytes, 5).text;
      if (COPY_FROM_STDIN.test(sql)) {
        if (SINGLE_COPY_FROM_STDIN.test(sql)) {
          // PGlite reads COPY data from the same input as the statement, so it gets them all at
          // once, at CopyDone (held in memory until then); meanwhile the client is told to send.
          this.copyIn = [bytes];
          this.write(message("G", Buffer.from([0, 0, 0])));
          return;
        }
        return this.run("Q", message("Q", Buffer.from(`${refusal("COPY FROM STDIN must be the only statement of its query")}\0`)));
      }
    }
    if (type === "P") {
      const name = cstring(bytes, 5);
      if (COPY_FROM_STDIN.test(cstring(bytes, name.end).text)) {
        const body = Buffer.from(`${name.text}\0${refusal("COPY FROM STDIN needs the simple query protocol")}\0\0\0`);
        return this.run("P", message("P", body));
      }
    }
    return this.run(type, bytes);
  }

  private async startup(bytes: Buffer): Promise<void> {
    const code = bytes.readInt32BE(4);
    if (code === SSL_REQUEST || code === GSSENC_REQUEST) return void this.socket.write("N");
    // There is no backend process to interrupt.
    if (code === CANCEL_REQUEST) return endWith(this.socket);
    if (code !== PROTOCOL_3) return endWith(this.socket, errorResponse("0A000", `unsupported frontend protocol ${code >> 16}.${code & 0xffff}`, "FATAL"));
    this.started = true;
    if (this.session.requiresPassword) {
      this.awaitingPassword = bytes;
      const cleartextPassword = Buffer.alloc(4);
      cleartextPassword.writeInt32BE(3);
      return void this.socket.write(message("R", cleartextPassword));
    }
    await this.run("startup", bytes);
  }

  private async password(type: string, bytes: Buffer): Promise<void> {
    const startup = this.awaitingPassword!;
    this.awaitingPassword = null;
    if (type !== "p" || !this.session.passwordMatches(cstring(bytes, 5).text)) {
      return endWith(this.socket, errorResponse("28P01", "password authentication failed (the embedded Postgres's password is in the node's data folder)", "FATAL"));
    }
    await this.run("startup", startup);
  }

  private async run(type: string, bytes: Buffer, dropCopyInResponse = false): Promise<void> {
    if (!this.session.ownedBy(this)) {
      if (!(await this.session.acquire(this))) return this.refuseWait(type);
      if (this.closed) return;
    }
    const status = await this.session.exec(bytes, (data) => this.write(data), dropCopyInResponse);
    if (status === "I") this.session.release(this);
  }

  private refuseWait(type: string): void {
    if (this.closed) return;
    const text =
      `embedded Postgres: waited ${this.session.waitTimeoutMs} ms for another connection's transaction to end ` +
      "(PGlite runs one transaction at a time; a transaction that waits for a second connection never ends)";
    if (type === "startup") return endWith(this.socket, errorResponse("55P03", text, "FATAL"));
    if (type === "Q" || type === "S") return this.write(Buffer.concat([errorResponse("55P03", text), readyForQuery("I")]));
    // As Postgres does after an error in an extended-protocol batch.
    this.write(errorResponse("55P03", text));
    this.ignoreTillSync = true;
  }

  /** Gives the session back after the client went away, rolling back what it left open. */
  private async leave(): Promise<void> {
    if (this.left) return;
    this.left = true;
    try {
      if (this.session.ownedBy(this)) {
        const discard = () => undefined;
        // After an error in an extended batch the backend skips everything up to a Sync.
        if ((await this.session.exec(message("Q", Buffer.from("ROLLBACK\0")), discard)) === null) {
          await this.session.exec(message("S", Buffer.alloc(0)), discard);
        }
        if (this.session.db.isInTransaction()) await this.session.exec(message("Q", Buffer.from("ROLLBACK\0")), discard);
      }
    } catch (err) {
      this.session.onError?.(err);
    } finally {
      this.session.release(this);
      this.chunks = [];
      this.copyIn = null;
      this.finish();
    }
  }

  private write(data: Buffer): void {
    if (!this.closed && this.socket.writable) this.socket.write(data);
  }
}

/** Closes for good once `last` is sent: a client may keep its side open after a FATAL error. */
function endWith(socket: Socket, last?: Buffer): void {
  socket.end(last ?? Buffer.alloc(0), () => socket.destroy());
}

const COPY_FROM_STDIN = /\bcopy\b[\s\S]*\bfrom\s+stdin\b/i;
const SINGLE_COPY_FROM_STDIN = /^\s*copy\b[^;]*\bfrom\s+stdin\b[^;]*;?\s*$/i;

/** A statement that fails in the backend itself, so the transaction state is Postgres's own. */
function refusal(reason: string): string {
  const text = `embedded Postgres: ${reason}`.replace(/'/g, "''");
  return `DO $ec$ BEGIN RAISE EXCEPTION USING ERRCODE = 'feature_not_supported', MESSAGE = '${text}'; END $ec$`;
}

const digest = (s: string) => createHash("sha256").update(s).digest();

function message(type: string, body: Buffer): Buffer {
  const out = Buffer.alloc(5 + body.length);
  out.write(type, 0, "latin1");
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

function errorResponse(code: string, text: string, severity: "ERROR" | "FATAL" = "ERROR"): Buffer {
  return message("E", Buffer.from(`S${severity}\0V${severity}\0C${code}\0M${text}\0\0`));
}

function readyForQuery(status: Status): Buffer {
  return message("Z", Buffer.from(status, "latin1"));
}

function cstring(bytes: Buffer, start: number): { text: string; end: number } {
  const nul = bytes.indexOf(0, start);
  const end = nul < 0 ? bytes.length : nul;
  return { text: bytes.toString("utf8", start, end), end: end + 1 };
}
