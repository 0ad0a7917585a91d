// An ExecuteRequest body read by hand into the commands handleNodeCommand takes. The balancer
// sends every order through here, and protobuf-es's fromBinary, building a message per
// command, per request and per enum, was about a tenth of the node's CPU per order.
//
// The hot commands (SubmitOrder, CancelOrder, ReplaceOrder) are read over protobuf-wire.ts
// into plain objects with the fields the generated messages have; a command of another case
// is read by fromBinary(NodeCommandSchema) from its own bytes. What this reader takes, it
// reads as fromBinary(ExecuteRequestSchema) reads it (test/node/execute-request-decoder.test.ts
// holds it to that): fields in any order, a repeated scalar's last value wins, the same oneof
// case twice merges, another case replaces, unknown fields are skipped. Anything it does not
// take (damaged bytes, a known field with another wire type, unknown groups) goes to fromBinary
// for the whole body, so the node accepts and refuses exactly what it did; when that refuses
// too, the error names the field and byte where this reader stopped.
import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { ExecuteRequestSchema, NodeCommandSchema } from "../gen/oms/internal/v1/node_pb.ts";
import type { OrderType, Side, TimeInForce } from "../gen/oms/v1/trading_pb.ts";
import { fieldTag as tag, WIRE_LENGTH_DELIMITED, WIRE_START_GROUP, WireFormatError, WireReader } from "../rpc/protobuf-wire.ts";
import type { CancelOrderFields, NodeCommandCase, ReplaceOrderFields, SubmitOrderFields } from "./command-parse.ts";

// The request messages' own fields are matched by their one-byte tags (field number << 3 |
// wire type): 0x?a/0x?2 a string, 0x?0/0x?8 an enum (varint); every number is below 16.

const COMMANDS = tag(ExecuteRequestSchema.field.commands.number, WIRE_LENGTH_DELIMITED);
const SUBMIT_ORDER = tag(NodeCommandSchema.field.submitOrder.number, WIRE_LENGTH_DELIMITED);
const CANCEL_ORDER = tag(NodeCommandSchema.field.cancelOrder.number, WIRE_LENGTH_DELIMITED);
const REPLACE_ORDER = tag(NodeCommandSchema.field.replaceOrder.number, WIRE_LENGTH_DELIMITED);
/** NodeCommand's fields are 1 to 9, all one oneof. */
const NODE_COMMAND_FIELD_MAX = 9;
/** fromBinary of one NodeCommand with this limit counts depth as it does inside the request. */
const COMMAND_RECURSION_LIMIT = 99;

/** The strict reader met something it leaves to fromBinary; never a refusal on its own. */
class NotRead extends Error {}

const reader = new WireReader();
/** The command being read, for errors; -1 outside the commands. */
let commandIndex = -1;

/** Throws a ConnectError (InvalidArgument) naming the field when the body is not an ExecuteRequest. */
export function decodeExecuteRequest(body: Uint8Array): NodeCommandCase[] {
  commandIndex = -1;
  try {
    return readExecuteRequest(body);
  } catch (cause) {
    if (!(cause instanceof WireFormatError || cause instanceof NotRead)) throw cause;
    const where = commandIndex < 0 ? "" : `commands[${commandIndex}].`;
    commandIndex = -1;
    try {
      return fromBinary(ExecuteRequestSchema, body).commands.map((command) => command.command);
    } catch {
      throw new ConnectError(`cannot decode message ${ExecuteRequestSchema.typeName}: ${where}${cause.message}`, Code.InvalidArgument);
    }
  }
}

function readExecuteRequest(body: Uint8Array): NodeCommandCase[] {
  const r = reader;
  r.reset(body);
  const commands: NodeCommandCase[] = [];
  while (r.more()) {
    const t = r.tag();
    if (t === COMMANDS) {
      commands.push(readNodeCommand(r, body, commands.length));
      commandIndex = -1;
    } else {
      skipUnknown(r, t, 1, "ExecuteRequest");
    }
  }
  return commands;
}

/**
 * Skips a field the schema does not have. A known field with another wire type than the
 * schema's, and a group (whose nesting protobuf-es bounds by message depth), are left to
 * fromBinary, which reads the first as its schema type and counts the second's depth.
 */
function skipUnknown(r: WireReader, t: number, knownMax: number, message: string): void {
  const fieldNumber = t >>> 3;
  if (fieldNumber <= knownMax) throw new NotRead(`${message} field ${fieldNumber}: wire type ${t & 7} is not the schema's (at byte ${r.pos} of ${r.bytes.length})`);
  if ((t & 7) === WIRE_START_GROUP) throw new NotRead(`${message} field ${fieldNumber}: a group (at byte ${r.pos} of ${r.bytes.length})`);
  r.skip(t, `${message} field ${fieldNumber}`);
}

const NO_COMMAND: NodeCommandCase = { case: undefined };

function readNodeCommand(r: WireReader, body: Uint8Array, index: number): NodeCommandCase {
  const outer = r.enter("commands");
  commandIndex = index;
  const start = r.pos;
  let command = NO_COMMAND;
  let otherCase = false;
  while (r.more()) {
    const t = r.tag();
    // NodeCommand.command is a oneof: the same case again merges, another one replaces.
    if (t === SUBMIT_ORDER) {
      command = { case: "submitOrder", value: readSubmitOrder(r, command.case === "submitOrder" ? command.value : newSubmitOrder()) };
    } else if (t === CANCEL_ORDER) {
      command = { case: "cancelOrder", value: readCancelOrder(r, command.case === "cancelOrder" ? command.value : { accountId: "", orderId: "" }) };
    } else if (t === REPLACE_ORDER) {
      command = { case: "replaceOrder", value: readReplaceOrder(r, command.case === "replaceOrder" ? command.value : newReplaceOrder()) };
    } else if (t >>> 3 <= NODE_COMMAND_FIELD_MAX && (t & 7) === WIRE_LENGTH_DELIMITED) {
      otherCase = true;
      r.skip(t, "command");
    } else {
      skipUnknown(r, t, NODE_COMMAND_FIELD_MAX, "NodeCommand");
    }
  }
  const end = r.pos;
  r.leave(outer);
  return otherCase ? readGeneric(body, start, end) : command;
}

/** A command of a case this reader leaves to protobuf-es (or with such a case among its fields). */
function readGeneric(body: Uint8Array, start: number, end: number): NodeCommandCase {
  try {
    return fromBinary(NodeCommandSchema, body.subarray(start, end), { recursionLimit: COMMAND_RECURSION_LIMIT }).command;
  } catch (error) {
    throw new NotRead(`command: ${error instanceof Error ? error.message : String(error)} (at byte ${start} of ${body.length})`);
  }
}

function newSubmitOrder(): SubmitOrderFields {
  return { accountId: "", clientOrderId: "", symbol: "", side: 0, type: 0, timeInForce: 0, qty: "", limitPrice: "", stopPrice: "" };
}

function readSubmitOrder(r: WireReader, f: SubmitOrderFields): SubmitOrderFields {
  const outer = r.enter("submit_order");
  while (r.more()) {
    const t = r.tag();
    switch (t) {
      case 0x0a:
        f.accountId = r.string("submit_order.account_id");
        break;
      case 0x12:
        f.clientOrderId = r.string("submit_order.client_order_id");
        break;
      case 0x1a:
        f.symbol = r.string("submit_order.symbol");
        break;
      case 0x20:
        f.side = r.enumValue("submit_order.side") as Side;
        break;
      case 0x28:
        f.type = r.enumValue("submit_order.type") as OrderType;
        break;
      case 0x30:
        f.timeInForce = r.enumValue("submit_order.time_in_force") as TimeInForce;
        break;
      case 0x3a:
        f.qty = r.string("submit_order.qty");
        break;
      case 0x42:
        f.limitPrice = r.string("submit_order.limit_price");
        break;
      case 0x4a:
        f.stopPrice = r.string("submit_order.stop_price");
        break;
      default:
        skipUnknown(r, t, 9, "submit_order");
    }
  }
  r.leave(outer);
  return f;
}

function readCancelOrder(r: WireReader, f: CancelOrderFields): CancelOrderFields {
  const outer = r.enter("cancel_order");
  while (r.more()) {
    const t = r.tag();
    if (t === 0x0a) f.accountId = r.string("cancel_order.account_id");
    else if (t === 0x12) f.orderId = r.string("cancel_order.order_id");
    else skipUnknown(r, t, 2, "cancel_order");
  }
  r.leave(outer);
  return f;
}

function newReplaceOrder(): ReplaceOrderFields {
  return { accountId: "", orderId: "", qty: "", limitPrice: "", stopPrice: "", timeInForce: 0, clientOrderId: "" };
}

function readReplaceOrder(r: WireReader, f: ReplaceOrderFields): ReplaceOrderFields {
  const outer = r.enter("replace_order");
  while (r.more()) {
    const t = r.tag();
    switch (t) {
      case 0x0a:
        f.accountId = r.string("replace_order.account_id");
        break;
      case 0x12:
        f.orderId = r.string("replace_order.order_id");
        break;
      case 0x1a:
        f.qty = r.string("replace_order.qty");
        break;
      case 0x22:
        f.limitPrice = r.string("replace_order.limit_price");
        break;
      case 0x2a:
        f.stopPrice = r.string("replace_order.stop_price");
        break;
      case 0x30:
        f.timeInForce = r.enumValue("replace_order.time_in_force") as TimeInForce;
        break;
      case 0x3a:
        f.clientOrderId = r.string("replace_order.client_order_id");
        break;
      default:
        skipUnknown(r, t, 7, "replace_order");
    }
  }
  r.leave(outer);
  return f;
}
