// The rules declared in proto/oms/v1 (buf.validate), checked at the balancer's edge before a
// request becomes a command for a node: every protocol's path comes through here
// (route-command.ts for unary calls of every protocol, submit-orders-bytes.ts and
// submit-orders-json.ts for each order of a stream, public-services.ts for StreamTradeUpdates). The rules bound each field, so that one
// client's command cannot grow a batch past a node's message limit; the node's own checks
// (formats, ranges) stay, with their words, and run after these.
import { type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { pathToString } from "@bufbuild/protobuf/reflect";
import { createValidator } from "@bufbuild/protovalidate";
import { Code, ConnectError } from "@connectrpc/connect";

// failFast: one violation names the field at fault, as the node's refusals do; the rest would
// cost time on a request that is refused anyway.
const validator = createValidator({ failFast: true });

/**
 * Null if `message` keeps its rules, else INVALID_ARGUMENT naming the field path
 * ("client_order_id: must be at most 128 characters", "order.symbol: …" for a nested one).
 * The plain objects of our generated wire codecs (src/gen/*_wire.ts) carry $typeName and are
 * checked as protobuf-es messages are.
 */
export function requestRefusal<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): ConnectError | null {
  const result = validator.validate(schema, message);
  switch (result.kind) {
    case "valid":
      return null;
    case "invalid": {
      // Our usual shape, the field path first; protovalidate's own toString adds the rule id.
      const violation = result.violations[0];
      const path = violation === undefined ? "" : pathToString(violation.field);
      return new ConnectError(`${path === "" ? schema.typeName : path}: ${violation?.message ?? "is invalid"}`, Code.InvalidArgument);
    }
    case "error":
      // A rule that cannot be compiled or evaluated is our bug, not the client's.
      throw result.error;
  }
}
