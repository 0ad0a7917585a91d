// Commands for a node, encoded by hand from bytes already encoded: a binary client's request
// is already the encoding of the command's value (the balancer decoded it only to check it and
// route it), so it goes into the Execute batch as it is, not decoded and encoded again.
import { ExecuteRequestSchema, NodeCommandSchema } from "../gen/oms/internal/v1/node_pb.ts";
import { fieldTag, repeatedMessagesField, varintLength, WIRE_LENGTH_DELIMITED, writeVarintAt } from "../rpc/protobuf-wire.ts";

/** The key before each command in an ExecuteRequest. */
const COMMANDS_KEY = fieldTag(ExecuteRequestSchema.field.commands.number, WIRE_LENGTH_DELIMITED);
/** The key of the packed timeouts_ms, one uint32 per command. */
const TIMEOUTS_KEY = fieldTag(ExecuteRequestSchema.field.timeoutsMs.number, WIRE_LENGTH_DELIMITED);
/** The longest varint of a uint32: what executeRequestBytes counts for each timeout. */
const UINT32_VARINT_BYTES_MAX = 5;

/** The NodeCommand field of each command case, by its local name ("submitOrder"). */
export function nodeCommandField(commandCase: string): number {
  const field = NodeCommandSchema.fields.find((candidate) => candidate.localName === commandCase);
  if (field === undefined) throw new Error(`NodeCommand has no field ${commandCase}`);
  return field.number;
}

/** The bytes toBinary gives for a NodeCommand whose case at `field` holds the message encoded as `value`. */
export function encodedNodeCommand(field: number, value: Uint8Array): Uint8Array {
  // Written into one exact allocation: this runs for every order a binary client sends.
  const key = fieldTag(field, WIRE_LENGTH_DELIMITED);
  const encoded = new Uint8Array(varintLength(key) + varintLength(value.length) + value.length);
  encoded.set(value, writeVarintAt(encoded, writeVarintAt(encoded, 0, key), value.length));
  return encoded;
}

/** What one encoded NodeCommand takes in an ExecuteRequest: its key, its length and itself. */
export function framedCommandBytes(command: Uint8Array): number {
  return varintLength(COMMANDS_KEY) + varintLength(command.length) + command.length;
}

/**
 * At least the size of an ExecuteRequest of `count` commands that take `commandsBytes` framed,
 * with a timeout each (counted at their longest, so that a batch is sized before its
 * timeouts are known).
 */
export function executeRequestBytes(commandsBytes: number, count: number): number {
  if (count === 0) return commandsBytes;
  const timeoutsBytes = count * UINT32_VARINT_BYTES_MAX;
  return commandsBytes + varintLength(TIMEOUTS_KEY) + varintLength(timeoutsBytes) + timeoutsBytes;
}

/**
 * The bytes toBinary gives for an ExecuteRequest of these encoded NodeCommands, in order, with
 * each one's milliseconds left (timeoutsMs, uint32s, as many as commands or none).
 */
export function encodedExecuteRequest(commands: readonly Uint8Array[], timeoutsMs: readonly number[] = []): Uint8Array {
  const encodedCommands = repeatedMessagesField(COMMANDS_KEY, commands);
  if (timeoutsMs.length === 0) return encodedCommands;
  let packedBytes = 0;
  for (const timeoutMs of timeoutsMs) packedBytes += varintLength(timeoutMs);
  const encoded = new Uint8Array(encodedCommands.length + varintLength(TIMEOUTS_KEY) + varintLength(packedBytes) + packedBytes);
  encoded.set(encodedCommands, 0);
  let pos = writeVarintAt(encoded, writeVarintAt(encoded, encodedCommands.length, TIMEOUTS_KEY), packedBytes);
  for (const timeoutMs of timeoutsMs) pos = writeVarintAt(encoded, pos, timeoutMs);
  return encoded;
}
