// The answer side of a gRPC or Connect streaming call on HTTP/2: headers on the first write,
// enveloped messages, then gRPC's status trailers or Connect's end-of-stream message, in the
// shapes connect-es writes them (its setTrailerStatus and endStreamToJson).
import type { ServerHttp2Stream } from "node:http2";
import { gzipSync } from "node:zlib";
import type { ConnectError } from "@connectrpc/connect";
import { compressedFlag } from "@connectrpc/connect/protocol";
import { endStreamFlag, endStreamToJson } from "@connectrpc/connect/protocol-connect";
import { grpcStatusFields } from "../protocol-grpc/status-fields.ts";
import { COMPRESS_MIN_BYTES } from "../rpc-limits.ts";
import { ENVELOPE_HEADER_BYTES } from "./envelope-reader.ts";
import type { StreamWire } from "./stream-call.ts";

export class StreamAnswer {
  private headersSent = false;
  private ended = false;

  constructor(
    private readonly stream: ServerHttp2Stream,
    private readonly wire: StreamWire,
  ) {}

  /** An envelope holding `length` bytes of message starts at `offset`: its 5-byte header. */
  static writeEnvelopeHeader(target: Buffer, offset: number, length: number, flags = 0): void {
    target[offset] = flags;
    target.writeUInt32BE(length, offset + 1);
  }

  static readonly envelopeHeaderBytes = ENVELOPE_HEADER_BYTES;

  /** Messages of this many bytes or more must go through envelopeOf (they may be compressed). */
  get compressFromBytes(): number {
    return this.wire.gzipAnswers ? COMPRESS_MIN_BYTES : Number.POSITIVE_INFINITY;
  }

  /** One message enveloped, compressed if the client accepts gzip and it is large enough. */
  envelopeOf(message: Uint8Array, flags = 0): Buffer {
    let data = message;
    if (message.length >= this.compressFromBytes) {
      data = gzipSync(message);
      flags |= compressedFlag;
    }
    const envelope = Buffer.allocUnsafe(ENVELOPE_HEADER_BYTES + data.length);
    StreamAnswer.writeEnvelopeHeader(envelope, 0, data.length, flags);
    envelope.set(data, ENVELOPE_HEADER_BYTES);
    return envelope;
  }

  /** Enveloped messages; false when the stream's buffer is full ('drain' follows). */
  write(envelopes: Uint8Array): boolean {
    if (this.gone) return true;
    this.sendHeaders();
    return this.stream.write(envelopes);
  }

  /** Ends the call: gRPC's status trailers, or Connect's end-of-stream message. */
  end(error: ConnectError | null): void {
    if (this.ended || this.gone) return;
    this.ended = true;
    this.sendHeaders();
    if (this.wire.protocol === "grpc") {
      const trailers = grpcStatusFields(error);
      this.stream.once("wantTrailers", () => this.stream.sendTrailers(trailers));
      this.stream.end();
      return;
    }
    // The error's metadata (a rate limit's retry-after) goes in the end-of-stream message, as connect-es writes it.
    const json = JSON.stringify(endStreamToJson(new Headers(error?.metadata), error ?? undefined, {}));
    this.stream.end(this.envelopeOf(Buffer.from(json, "utf8"), endStreamFlag));
  }

  get gone(): boolean {
    return this.stream.destroyed || this.stream.closed;
  }

  private sendHeaders(): void {
    if (this.headersSent) return;
    this.headersSent = true;
    const grpc = this.wire.protocol === "grpc";
    const subtype = this.wire.json ? "json" : "proto";
    const headers: Record<string, string | number> = { ":status": 200, "content-type": grpc ? `application/grpc+${subtype}` : `application/connect+${subtype}` };
    if (this.wire.gzipAnswers) headers[grpc ? "grpc-encoding" : "connect-content-encoding"] = "gzip";
    // gRPC's status goes in trailers, which HTTP/2 sends only if asked for before the headers.
    this.stream.respond(headers, { waitForTrailers: grpc });
  }
}
