// Enveloped messages (1 byte of flags, 4 of length, the message), as gRPC and Connect streaming
// frame them, split from a request's bytes as they arrive. A client's bytes that break the
// framing, a message over MESSAGE_BYTES_MAX (declared or once decompressed) and a compressed
// message on a call without an encoding end the stream with the error that says so.
import { gunzipSync } from "node:zlib";
import { Code, ConnectError } from "@connectrpc/connect";
import { compressedFlag } from "@connectrpc/connect/protocol";
import { endStreamFlag } from "@connectrpc/connect/protocol-connect";
import { MESSAGE_BYTES_MAX } from "../rpc-limits.ts";
import type { StreamWire } from "./stream-call.ts";

export const ENVELOPE_HEADER_BYTES = 5;

const EMPTY = Buffer.alloc(0);

export class EnvelopeReader {
  private chunks: Buffer[] = [];
  /** Where the unread bytes start in chunks[0]: a position, not a slice, to spare a view per read. */
  private offset = 0;
  private buffered = 0;

  constructor(private readonly wire: Pick<StreamWire, "protocol" | "gzipRequests">) {}

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next whole message, null if it has not all arrived, or the error that ends the stream. */
  next(): Uint8Array | null | ConnectError {
    for (;;) {
      if (this.buffered < ENVELOPE_HEADER_BYTES) return null;
      const head = this.headChunk();
      const length = head.readUInt32BE(this.offset + 1);
      if (length > MESSAGE_BYTES_MAX) {
        return new ConnectError(`message size ${length} is larger than configured readMaxBytes ${MESSAGE_BYTES_MAX}`, Code.ResourceExhausted);
      }
      if (this.buffered < ENVELOPE_HEADER_BYTES + length) return null;
      const flags = head[this.offset] as number;
      this.offset += ENVELOPE_HEADER_BYTES;
      this.buffered -= ENVELOPE_HEADER_BYTES;
      const message = this.take(length);
      // A client's end-of-stream envelope (Connect) is skipped, as connect-es skips it.
      if (this.wire.protocol === "connect" && (flags & endStreamFlag) !== 0) continue;
      return (flags & compressedFlag) === 0 ? message : this.inflated(message);
    }
  }

  /** At the end of the request: bytes left over are a message cut short. */
  leftover(): ConnectError | null {
    return this.buffered === 0 ? null : new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  }

  private inflated(message: Buffer): Uint8Array | ConnectError {
    if (!this.wire.gzipRequests) return new ConnectError("received compressed envelope, but do not know how to decompress", Code.InvalidArgument);
    try {
      return gunzipSync(message, { maxOutputLength: MESSAGE_BYTES_MAX });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
        return new ConnectError(`message is larger than configured readMaxBytes ${MESSAGE_BYTES_MAX} once decompressed`, Code.ResourceExhausted);
      }
      return new ConnectError(`cannot decompress gzip message: ${String(error)}`, Code.InvalidArgument);
    }
  }

  /** chunks[0], holding a whole envelope header at offset (joined with the next chunks if it was split). */
  private headChunk(): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length - this.offset >= ENVELOPE_HEADER_BYTES) return first;
    this.chunks = [Buffer.concat([first.subarray(this.offset), ...this.chunks.slice(1)])];
    this.offset = 0;
    return this.chunks[0] as Buffer;
  }

  /** The next `length` bytes; a view into the chunk when they lie in one (the usual case). */
  private take(length: number): Buffer {
    if (length === 0) return EMPTY;
    this.buffered -= length;
    const first = this.chunks[0] as Buffer;
    const start = this.offset;
    if (first.length - start >= length) {
      this.offset += length;
      if (this.offset === first.length) this.dropFirst();
      return first.subarray(start, start + length);
    }
    const taken = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const chunk = this.chunks[0] as Buffer;
      const part = Math.min(chunk.length - this.offset, length - filled);
      chunk.copy(taken, filled, this.offset, this.offset + part);
      filled += part;
      this.offset += part;
      if (this.offset === chunk.length) this.dropFirst();
    }
    return taken;
  }

  private dropFirst(): void {
    this.chunks.shift();
    this.offset = 0;
  }
}
