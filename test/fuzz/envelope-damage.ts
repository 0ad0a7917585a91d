// The envelopes (1 byte of flags, 4 of length, the message) that carry a fuzz case's message on
// gRPC, gRPC-web and Connect streaming, and the damage done to them, each with what the oracle
// makes of it.
import { Code } from "@connectrpc/connect";
import { MESSAGE_BYTES_MAX } from "../../src/rpc/rpc-limits.ts";
import type { CaseOracle } from "./case-oracle.ts";

export type EnvelopeDamage = "none" | "length-beyond" | "compressed-no-encoding" | "odd-flags" | "header-cut" | "two-messages" | "no-message" | "declared-oversize";

export const ENVELOPE_DAMAGES = ["length-beyond", "compressed-no-encoding", "odd-flags", "header-cut", "two-messages", "no-message", "declared-oversize"] as const;

function envelope(flags: number, data: Uint8Array, declared = data.length): Buffer {
  const bytes = Buffer.alloc(5 + data.length);
  bytes[0] = flags;
  bytes.writeUInt32BE(declared, 1);
  bytes.set(data, 5);
  return bytes;
}

export interface EnvelopedPayload {
  payload: Uint8Array;
  /** The payload is gzipped (and the encoding header says gzip). */
  compressed: boolean;
  /** The request names an encoding at all. */
  encodingDeclared: boolean;
  /** The method takes exactly one message (unary and server streaming). */
  takesOne: boolean;
}

export function envelopesOf(damage: EnvelopeDamage, sent: EnvelopedPayload, oracle: CaseOracle): Uint8Array {
  const { payload, compressed, takesOne } = sent;
  const flags = compressed ? 1 : 0;
  switch (damage) {
    case "none":
      return envelope(flags, payload);
    case "length-beyond":
      // connect-es may read a cut-off last envelope as no message at all (UNIMPLEMENTED, its code for that).
      oracle.bodyFault("an envelope longer than the body", Code.InvalidArgument, Code.Unimplemented);
      return envelope(flags, payload, payload.length + 7);
    case "compressed-no-encoding":
      if (compressed) return envelope(flags, payload);
      // gRPC (grpc-go: "compressed flag set with identity or empty encoding") and Connect
      // (connect-go) both answer INTERNAL here, inside an HTTP 200: the protocols' choice, allowed.
      if (!sent.encodingDeclared) oracle.bodyFault("a compressed envelope without an encoding", Code.InvalidArgument, Code.Internal);
      // With gzip declared, plain bytes flagged compressed do not inflate; an empty message may be read as empty (connect-es does).
      else if (payload.length > 0) oracle.bodyFault("a compressed envelope that is not gzip", Code.InvalidArgument, Code.Internal);
      return envelope(1, payload);
    case "odd-flags":
      // Flag bits no request may set (end-of-stream and trailer bits, reserved bits).
      return envelope(flags | 0x40, payload);
    case "header-cut":
      oracle.bodyFault("a body that ends inside an envelope header", Code.InvalidArgument, Code.Unimplemented);
      return envelope(flags, payload).subarray(0, 3);
    case "two-messages":
      if (takesOne) oracle.bodyFault("two messages for a method that takes one", Code.InvalidArgument, Code.Unimplemented);
      return Buffer.concat([envelope(flags, payload), envelope(flags, payload)]);
    case "no-message":
      if (takesOne) oracle.bodyFault("no message for a method that takes one", Code.InvalidArgument, Code.Unimplemented);
      return new Uint8Array(0);
    case "declared-oversize":
      oracle.bodyFault("an envelope declaring more than the size limit", Code.ResourceExhausted);
      return envelope(flags, payload, MESSAGE_BYTES_MAX + 1).subarray(0, 5 + payload.length);
  }
}
