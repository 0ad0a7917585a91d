// Every public method the balancer serves, from the generated service descriptors: a method
// added to a public service is fuzzed without a change here.
import type { DescMethod } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { AccountService } from "../../src/gen/oms/v1/account_service_pb.ts";
import { AssetService } from "../../src/gen/oms/v1/asset_service_pb.ts";
import { OrderService } from "../../src/gen/oms/v1/order_service_pb.ts";

export const PUBLIC_METHODS: readonly DescMethod[] = [AccountService, OrderService, AssetService].flatMap((service) => service.methods);

export function pathOf(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/** Reads only: Connect GET may call them, and they can never change an account. */
export function isReadOnly(method: DescMethod): boolean {
  return method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS;
}
