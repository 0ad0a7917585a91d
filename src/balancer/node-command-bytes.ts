// Commands for a node, encoded by hand from bytes already encoded: a binary client's request
// is already the encoding of the command's value (the balancer decoded it only to check it and
// route it), so it goes into the Execute batch as it is, not decoded and encoded again.
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { ExecuteRequestSchema, NodeCommandSchema } from "../gen/oms/internal/v1/node_pb.ts";

const COMMANDS_FIELD = ExecuteRequestSchema.field.commands.number;

/** The NodeCommand field of each command case, by its local name ("submitOrder"). */
export function nodeCommandField(commandCase: string): number {
  const field = NodeCommandSchema.fields.find((candidate) => candidate.localName === commandCase);
  if (field === undefined) throw new Error(`NodeCommand has no field ${commandCase}`);
  return field.number;
}

/** The bytes toBinary gives for a NodeCommand whose case at `field` holds the message encoded as `value`. */
export function encodedNodeCommand(field: number, value: Uint8Array): Uint8Array {
  return new BinaryWriter().tag(field, WireType.LengthDelimited).bytes(value).finish();
}

/** The bytes toBinary gives for an ExecuteRequest of these encoded NodeCommands, in order. */
export function encodedExecuteRequest(commands: readonly Uint8Array[]): Uint8Array {
  const writer = new BinaryWriter();
  for (const command of commands) writer.tag(COMMANDS_FIELD, WireType.LengthDelimited).bytes(command);
  return writer.finish();
}
