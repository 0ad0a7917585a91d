// Per-key limits: a token bucket of calls (a SubmitOrders stream's orders count one each), a
// bound on a key's open streams and one on the connections its calls arrive on, each set per
// scope in the cluster config (auth.account, auth.admin). A refusal is RESOURCE_EXHAUSTED; a refused call carries a `retry-after` header
// (whole seconds, rounded up, as HTTP's Retry-After) and the wait in ms in its message, and
// gRPC clients find the header in the trailers.
import { Code, ConnectError } from "@connectrpc/connect";
import type { Connection } from "../rpc/connection-context.ts";
import type { Caller } from "./key-ring.ts";

export interface ScopeLimits {
  /** Tokens added per second. */
  readonly callsPerSecond: number;
  /** Bucket size: how many calls may come at once after a quiet spell. */
  readonly burst: number;
  /** SubmitOrders and StreamTradeUpdates streams open at once. */
  readonly streamsMax: number;
  /** Connections (TCP sockets; an HTTP/2 session is one) carrying the key's calls at once. */
  readonly connectionsMax: number;
}

export interface LimitsByScope {
  readonly account: ScopeLimits;
  readonly admin: ScopeLimits;
}

interface KeyState {
  tokens: number;
  refilledAtMs: number;
  streams: number;
  /** Until each one closes. */
  connections: Set<Connection>;
}

export const RETRY_AFTER_HEADER = "retry-after";

export class KeyLimits {
  private readonly states = new Map<string, KeyState>();

  constructor(
    private readonly limits: LimitsByScope,
    private readonly nowMs: () => number = performance.now.bind(performance),
  ) {}

  /** Takes one call's token, or returns the RESOURCE_EXHAUSTED refusal with the wait. */
  takeCall(caller: Caller): ConnectError | null {
    const limits = this.limitsOf(caller);
    const state = this.stateOf(caller, limits);
    const nowMs = this.nowMs();
    state.tokens = Math.min(limits.burst, state.tokens + ((nowMs - state.refilledAtMs) * limits.callsPerSecond) / 1000);
    state.refilledAtMs = nowMs;
    if (state.tokens >= 1) {
      state.tokens -= 1;
      return null;
    }
    const waitMs = Math.ceil(((1 - state.tokens) * 1000) / limits.callsPerSecond);
    const error = new ConnectError(`rate limit: this API key may make ${limits.callsPerSecond} calls a second (burst ${limits.burst}); retry after ${waitMs} ms`, Code.ResourceExhausted);
    error.metadata.set(RETRY_AFTER_HEADER, String(Math.ceil(waitMs / 1000)));
    return error;
  }

  /** Counts a stream opened by this key, or refuses it; the release function is called once, when it ends. */
  openStream(caller: Caller): (() => void) | ConnectError {
    const limits = this.limitsOf(caller);
    const state = this.stateOf(caller, limits);
    if (state.streams >= limits.streamsMax) {
      return new ConnectError(`stream limit: this API key may hold ${limits.streamsMax} streams open at once`, Code.ResourceExhausted);
    }
    state.streams += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      state.streams -= 1;
    };
  }

  /**
   * Counts the connection a call of this key arrived on, or refuses the call if the key holds
   * connectionsMax others. A connection counts until it closes; undefined (an in-process call) is not counted.
   */
  takeConnection(caller: Caller, connection: Connection | undefined): ConnectError | null {
    if (connection === undefined) return null;
    const limits = this.limitsOf(caller);
    const state = this.stateOf(caller, limits);
    if (state.connections.has(connection)) return null;
    if (state.connections.size >= limits.connectionsMax) {
      return new ConnectError(`connection limit: this API key may use ${limits.connectionsMax} connections at once; send more calls on fewer connections`, Code.ResourceExhausted);
    }
    state.connections.add(connection);
    connection.once("close", () => state.connections.delete(connection));
    return null;
  }

  private limitsOf(caller: Caller): ScopeLimits {
    return caller.scope.kind === "admin" ? this.limits.admin : this.limits.account;
  }

  private stateOf(caller: Caller, limits: ScopeLimits): KeyState {
    let state = this.states.get(caller.keyId);
    if (state === undefined) {
      // Bounded by the live keys: only a key that verified gets a state.
      state = { tokens: limits.burst, refilledAtMs: this.nowMs(), streams: 0, connections: new Set() };
      this.states.set(caller.keyId, state);
    }
    return state;
  }
}
