// Commands for a node, encoded by hand from bytes already encoded: a binary client's request
// is already the encoding of the command's value (the balancer decoded it only to check it and
// route it), so it goes into the Execute batch as it is, not decoded and encoded again.
import { ExecuteRequestSchema, NodeCommandSchema } from "../gen/oms/internal/v1/node_pb.ts";

/** The key (field number << 3 | length-delimited) before each command in an ExecuteRequest. */
const COMMANDS_KEY = (ExecuteRequestSchema.field.commands.number << 3) | 2;

/** The NodeCommand field of each command case, by its local name ("submitOrder"). */
export function nodeCommandField(commandCase: string): number {
  const field = NodeCommandSchema.fields.find((candidate) => candidate.localName === commandCase);
  if (field === undefined) throw new Error(`NodeCommand has no field ${commandCase}`);
  return field.number;
}

/** The bytes toBinary gives for a NodeCommand whose case at `field` holds the message encoded as `value`. */
export function encodedNodeCommand(field: number, value: Uint8Array): Uint8Array {
  // Written into one exact allocation: this runs for every order a binary client sends.
  const key = (field << 3) | 2;
  const encoded = new Uint8Array(varintBytes(key) + varintBytes(value.length) + value.length);
  encoded.set(value, writeVarint(encoded, writeVarint(encoded, 0, key), value.length));
  return encoded;
}

/** The bytes toBinary gives for an ExecuteRequest of these encoded NodeCommands, in order. */
export function encodedExecuteRequest(commands: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const command of commands) total += varintBytes(COMMANDS_KEY) + varintBytes(command.length) + command.length;
  const encoded = new Uint8Array(total);
  let pos = 0;
  for (const command of commands) {
    pos = writeVarint(encoded, writeVarint(encoded, pos, COMMANDS_KEY), command.length);
    encoded.set(command, pos);
    pos += command.length;
  }
  return encoded;
}

/** Bytes of an unsigned varint; values here are field keys and lengths, far below 2^31. */
function varintBytes(value: number): number {
  let bytes = 1;
  for (let rest = value >>> 7; rest !== 0; rest >>>= 7) bytes += 1;
  return bytes;
}

function writeVarint(target: Uint8Array, offset: number, value: number): number {
  let pos = offset;
  let rest = value;
  while (rest > 0x7f) {
    target[pos++] = (rest & 0x7f) | 0x80;
    rest >>>= 7;
  }
  target[pos++] = rest;
  return pos;
}
