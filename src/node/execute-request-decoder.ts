// An ExecuteRequest body read into the commands the commit pipeline parses (command-parse.ts), by the codec generated
// from proto/oms/internal/v1/node.proto (src/gen/oms/internal/v1/node_wire.ts): what fromBinary
// reads, it reads the same (every command case; fields in any order; unknown fields skipped), as
// plain objects of protobuf-es's shapes, without protobuf-es's per-message reflection, which was
// about a tenth of the node's CPU per order. Damaged bytes, and a known field with another wire
// type than the schema's, are refused naming the command, field and byte.
import { Code, ConnectError } from "@connectrpc/connect";
import { decodeExecuteRequest as decodeWireRequest } from "../gen/oms/internal/v1/node_wire.ts";
import { WireFormatError } from "../rpc/protobuf-wire.ts";
import type { NodeCommandCase } from "./command-parse.ts";

/** An ExecuteRequest's commands, and the milliseconds each had left when the balancer sent it (fewer, or none, for no deadline). */
export interface ExecuteBatch {
  readonly commands: NodeCommandCase[];
  readonly timeoutsMs: readonly number[];
}

/** Throws a ConnectError (InvalidArgument) naming the field when the body is not an ExecuteRequest. */
export function decodeExecuteRequest(body: Uint8Array): ExecuteBatch {
  let request;
  try {
    request = decodeWireRequest(body);
  } catch (cause) {
    if (!(cause instanceof WireFormatError)) throw cause;
    throw new ConnectError(`cannot decode message ${cause.message}`, Code.InvalidArgument);
  }
  const cases: NodeCommandCase[] = [];
  for (const command of request.commands) cases.push(command.command);
  return { commands: cases, timeoutsMs: request.timeoutsMs };
}
