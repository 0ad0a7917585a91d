// Commands for a node, encoded by hand from bytes already encoded: a binary client's request
// is already the encoding of the command's value (the balancer decoded it only to check it and
// route it), so it goes into the Execute batch as it is, not decoded and encoded again.
import { ExecuteRequestSchema, NodeCommandSchema } from "../gen/oms/internal/v1/node_pb.ts";
import { fieldTag, repeatedMessagesField, varintLength, WIRE_LENGTH_DELIMITED, writeVarintAt } from "../rpc/protobuf-wire.ts";

/** The key before each command in an ExecuteRequest. */
const COMMANDS_KEY = fieldTag(ExecuteRequestSchema.field.commands.number, WIRE_LENGTH_DELIMITED);

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

/** The bytes toBinary gives for an ExecuteRequest of these encoded NodeCommands, in order. */
export function encodedExecuteRequest(commands: readonly Uint8Array[]): Uint8Array {
  return repeatedMessagesField(COMMANDS_KEY, commands);
}
