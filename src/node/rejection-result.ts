import { Code } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import type { Rejection, RejectionCode } from "../core/rejection.ts";
import { NodeResultSchema, type NodeResult } from "../gen/oms/internal/v1/node_pb.ts";

const CODES: Record<RejectionCode, Code> = {
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  failed_precondition: Code.FailedPrecondition,
  unavailable: Code.Unavailable,
};

/** A refused command travels to the balancer as its Connect code and message. */
export function rejectionResult(rejection: Rejection): NodeResult {
  return create(NodeResultSchema, { result: { case: "error", value: { code: CODES[rejection.code], message: rejection.message } } });
}
