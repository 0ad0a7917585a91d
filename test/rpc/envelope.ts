// A Connect/gRPC stream envelope built by hand for tests: one flags byte, a big-endian 32-bit
// length, the message. Independent of src/rpc's framing, so tests can check it against this.
export function envelope(message: Uint8Array, flags = 0): Buffer {
  const bytes = Buffer.alloc(5 + message.length);
  bytes[0] = flags;
  bytes.writeUInt32BE(message.length, 1);
  bytes.set(message, 5);
  return bytes;
}
