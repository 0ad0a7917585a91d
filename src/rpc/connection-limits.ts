// Bounds on the connections of one port, so that held sockets cannot exhaust the process's file
// descriptors: a cap on open connections, a deadline for a request head (or the HTTP/2 preface),
// and an idle timeout on connections with no call in flight. Neither Bun's node:http nor its
// node:http2 enforces headersTimeout or a session idle time (a dripped header and an idle
// session were held for ever), so these timers are ours, one per connection.
import type * as http2 from "node:http2";
import type * as net from "node:net";

export interface ConnectionLimits {
  /** Open connections past this are closed as they arrive. */
  readonly connectionsMax: number;
  /** From the connection's first byte (or the end of its last answer's idle time), the whole request head. */
  readonly headersTimeoutMs: number;
  /**
   * A connection with nothing in flight (an HTTP/1.1 keep-alive socket between requests, an
   * HTTP/2 session with no open stream) is closed after this; 0 never closes one. A long-lived
   * stream with no traffic is in flight, so it is never cut.
   */
  readonly idleTimeoutMs: number;
}

export type ConnectionCloseReason = "connections_max" | "headers_timeout" | "idle_timeout";

/** What a server gets by default; the balancer takes its figures from the configuration. */
export const CONNECTION_LIMITS_DEFAULT: ConnectionLimits = {
  // Under the usual `ulimit -n` of servers (and far above what a few balancers need of a node).
  connectionsMax: 4096,
  headersTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
};

/** A timer that is one of: off, the head deadline, or the idle deadline. */
class ConnectionTimer {
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly expire: (reason: ConnectionCloseReason) => void) {}

  arm(reason: ConnectionCloseReason, ms: number): void {
    this.clear();
    if (ms > 0) this.timer = setTimeout(() => this.expire(reason), ms);
  }

  clear(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}

/**
 * One HTTP/1.1 connection: the head of each request must arrive within headersTimeoutMs of its
 * first byte (of the connection, for the first), and between requests it may idle idleTimeoutMs.
 * A request being answered (a server stream included) has no timer.
 */
export class Http1ConnectionWatch {
  private readonly timer: ConnectionTimer;
  private inFlight = false;
  private idle = false;

  constructor(socket: net.Socket, private readonly limits: ConnectionLimits, closed: (reason: ConnectionCloseReason) => void) {
    this.timer = new ConnectionTimer((reason) => {
      closed(reason);
      socket.destroy();
    });
    this.timer.arm("headers_timeout", limits.headersTimeoutMs);
    socket.on("data", () => {
      if (!this.idle) return;
      this.idle = false;
      this.timer.arm("headers_timeout", limits.headersTimeoutMs);
    });
    socket.once("close", () => this.timer.clear());
  }

  /** The server parsed a request head; the connection is busy until its answer ends. */
  requestStarted(answerEnded: (done: () => void) => void): void {
    this.inFlight = true;
    this.idle = false;
    this.timer.clear();
    answerEnded(() => {
      if (!this.inFlight) return;
      this.inFlight = false;
      this.idle = true;
      this.timer.arm("idle_timeout", this.limits.idleTimeoutMs);
    });
  }
}

/**
 * One HTTP/2 session (its preface already read): idle while no stream is open; past
 * idleTimeoutMs it gets GOAWAY, and is destroyed closeGraceMs later if the client holds it.
 */
export function watchHttp2Session(
  session: http2.ServerHttp2Session,
  limits: ConnectionLimits,
  closeGraceMs: number,
  closed: (reason: ConnectionCloseReason) => void,
): { streamOpened(stream: http2.ServerHttp2Stream): void } {
  let open = 0;
  const timer = new ConnectionTimer((reason) => {
    closed(reason);
    session.close();
    setTimeout(() => session.destroyed || session.destroy(), closeGraceMs).unref();
  });
  timer.arm("idle_timeout", limits.idleTimeoutMs);
  session.once("close", () => timer.clear());
  return {
    streamOpened(stream) {
      open += 1;
      timer.clear();
      stream.once("close", () => {
        open -= 1;
        if (open === 0 && !session.closed && !session.destroyed) timer.arm("idle_timeout", limits.idleTimeoutMs);
      });
    },
  };
}
