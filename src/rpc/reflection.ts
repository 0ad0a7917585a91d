// gRPC server reflection (grpc.reflection.v1 and its older name v1alpha, which buf curl and
// grpcurl still fall back to), so that these tools can list the services and call them without
// the proto files. Served through connect-es's router like any service: over gRPC, gRPC-web and
// Connect alike. The answers come from the generated descriptors of whatever the router serves.

import { create, fromBinary, toBinary, type DescFile, type MessageInitShape } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ConnectRouter } from "@connectrpc/connect";
import * as v1 from "../gen/grpc/reflection/v1/reflection_pb.ts";
import * as v1alpha from "../gen/grpc/reflection/v1alpha/reflection_pb.ts";
import { reflectionIndex, withDependencies, type ReflectionIndex } from "./reflection-index.ts";

type Answer = MessageInitShape<typeof v1.ServerReflectionResponseSchema>;
type MessageResponse = NonNullable<Answer["messageResponse"]>;

/**
 * Registers both reflection services on the router. Call it after the other services: what it
 * reports is read from the router's handlers on the first request.
 */
export function registerReflection(router: ConnectRouter): void {
  let index: ReflectionIndex | undefined;
  const encoded = new Map<string, Uint8Array>();
  const answerOf = (request: v1.ServerReflectionRequest): Answer => {
    index ??= reflectionIndex(router.handlers.map((handler) => handler.service));
    return { validHost: request.host, originalRequest: request, messageResponse: messageResponseOf(index, encoded, request) };
  };
  router.service(v1.ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) yield answerOf(request);
    },
  });
  // v1alpha is v1 under another package name, byte for byte: one implementation serves both.
  router.service(v1alpha.ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) {
        const asV1 = fromBinary(v1.ServerReflectionRequestSchema, toBinary(v1alpha.ServerReflectionRequestSchema, request));
        const answer = toBinary(v1.ServerReflectionResponseSchema, create(v1.ServerReflectionResponseSchema, answerOf(asV1)));
        yield fromBinary(v1alpha.ServerReflectionResponseSchema, answer);
      }
    },
  });
}

function messageResponseOf(index: ReflectionIndex, encoded: Map<string, Uint8Array>, request: v1.ServerReflectionRequest): MessageResponse {
  const asked = request.messageRequest;
  switch (asked.case) {
    case "listServices":
      return { case: "listServicesResponse", value: { service: index.services.map((name) => ({ name })) } };
    case "fileByFilename":
      return filesOf(index.fileByName(asked.value), encoded, `file "${asked.value}" is not known to this server`);
    case "fileContainingSymbol":
      return filesOf(index.fileOfSymbol(asked.value), encoded, `symbol "${asked.value}" is not known to this server`);
    case "fileContainingExtension": {
      const { containingType, extensionNumber } = asked.value;
      const file = index.extensionsOf(containingType).get(extensionNumber);
      return filesOf(file, encoded, `no extension ${extensionNumber} of "${containingType}" is known to this server`);
    }
    case "allExtensionNumbersOfType": {
      const typeName = asked.value;
      if (!index.hasMessage(typeName)) return notFound(`message type "${typeName}" is not known to this server`);
      const numbers = [...index.extensionsOf(typeName).keys()].sort((a, b) => a - b);
      return { case: "allExtensionNumbersResponse", value: { baseTypeName: typeName, extensionNumber: numbers } };
    }
    case undefined:
      return { case: "errorResponse", value: { errorCode: Code.InvalidArgument, errorMessage: "message_request: none of its fields is set" } };
  }
}

/** The file with every file it imports, so that a client can build its types from this answer alone. */
function filesOf(file: DescFile | undefined, encoded: Map<string, Uint8Array>, missing: string): MessageResponse {
  if (file === undefined) return notFound(missing);
  const fileDescriptorProto = withDependencies(file).map((each) => {
    let bytes = encoded.get(each.proto.name);
    if (bytes === undefined) {
      bytes = toBinary(FileDescriptorProtoSchema, each.proto);
      encoded.set(each.proto.name, bytes);
    }
    return bytes;
  });
  return { case: "fileDescriptorResponse", value: { fileDescriptorProto } };
}

function notFound(errorMessage: string): MessageResponse {
  return { case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage } };
}
