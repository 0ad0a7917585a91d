import { create } from "@bufbuild/protobuf";
import type { Rejection } from "../core/rejection.ts";
import { NodeResultSchema, type NodeResult } from "../gen/oms/internal/v1/node_pb.ts";
import { nodeErrorOfRefusal } from "../rpc/errors.ts";

/** A refused command travels to the balancer as its Connect code and message. */
export function rejectionResult(rejection: Rejection): NodeResult {
  return create(NodeResultSchema, { result: { case: "error", value: nodeErrorOfRefusal(rejection) } });
}
