// The connection a call arrived on, for what is bounded per connection owner (the balancer
// counts the connections each API key's calls arrive on: auth/key-limits.ts): the TCP socket of
// an HTTP/1.1 call, the session of an HTTP/2 one (one per connection, whatever the stream; its
// socket is a per-stream proxy in node's compatibility API). Either emits "close" when it ends.
// Our own paths read it from the exchange or stream; connect-es's handlers from their context values.
import type { EventEmitter } from "node:events";
import type * as http from "node:http";
import type * as http2 from "node:http2";
import { createContextKey } from "@connectrpc/connect";

export type Connection = EventEmitter;

export const CONNECTION = createContextKey<Connection | undefined>(undefined, { description: "the call's connection" });

export function connectionOf(request: http.IncomingMessage | http2.Http2ServerRequest): Connection | undefined {
  return "stream" in request ? request.stream.session : request.socket;
}
