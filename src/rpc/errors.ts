// Domain refusals become Connect errors at the edge, and cross the balancer→node hop as
// oms.internal.v1.NodeError {code, message}, where code is connect-es's numeric Code.
// The mapping is total in both directions so that a refusal never turns into "unknown".

import { Code, ConnectError } from "@connectrpc/connect";
import type { RejectionCode } from "../core/rejection.ts";

/** The core's rejections plus the two failures that only the serving layer produces. */
export type RefusalCode = RejectionCode | "internal";

export interface Refusal {
  code: RefusalCode;
  message: string;
}

/** The wire shape of oms.internal.v1.NodeError; pass it to create(NodeErrorSchema, …). */
export interface NodeErrorWire {
  code: number;
  message: string;
}

const connectCodeByRefusal: Readonly<Record<RefusalCode, Code>> = {
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  failed_precondition: Code.FailedPrecondition,
  unavailable: Code.Unavailable,
  deadline_exceeded: Code.DeadlineExceeded,
  internal: Code.Internal,
};

// Connect's codes are 1..16 (0 is OK and never an error); anything else came from a bug or
// a peer speaking another protocol version.
const connectCodeMin = Code.Canceled;
const connectCodeMax = Code.Unauthenticated;

export function connectCodeOf(code: RefusalCode): Code {
  return connectCodeByRefusal[code];
}

export function connectErrorOf(refusal: Refusal): ConnectError {
  return new ConnectError(refusal.message, connectCodeOf(refusal.code));
}

export function nodeErrorOfRefusal(refusal: Refusal): NodeErrorWire {
  return { code: connectCodeOf(refusal.code), message: refusal.message };
}

/**
 * What a node sends back for a command that failed for any reason: a ConnectError keeps its
 * code and raw message; anything else is a bug on the node and travels as internal.
 */
export function nodeErrorOfThrown(reason: unknown): NodeErrorWire {
  const error = ConnectError.from(reason, Code.Internal);
  return { code: error.code, message: error.rawMessage };
}

/** The balancer's side: rebuild the error the node meant, for the public API's caller. */
export function connectErrorOfNodeError(wire: NodeErrorWire): ConnectError {
  if (!Number.isInteger(wire.code) || wire.code < connectCodeMin || wire.code > connectCodeMax) {
    return new ConnectError(`node sent invalid error code ${wire.code}: ${wire.message}`, Code.Internal);
  }
  return new ConnectError(wire.message, wire.code as Code);
}
