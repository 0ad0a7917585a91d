// The gate and authorize() for every call connect-es serves on the balancer: gRPC and gRPC-web
// unary calls, StreamTradeUpdates in every protocol, ListAssets, AdminService. A unary request's
// implied account id is written into the message before the handler routes it; a stream's
// request is checked as the handler reads it (before it routes), and the stream counts against
// the key's open streams until it ends.
import type { Message } from "@bufbuild/protobuf";
import { ConnectError, type Interceptor, type StreamRequest, type StreamResponse } from "@connectrpc/connect";
import { CONNECTION } from "../rpc/connection-context.ts";
import { authorize } from "./authorize.ts";
import type { CallGate } from "./call-gate.ts";
import type { Caller } from "./key-ring.ts";

export function authInterceptor(gate: CallGate): Interceptor {
  return (next) => async (request) => {
    const procedure = `${request.service.typeName}/${request.method.name}`;
    const caller = await gate.admit((name) => request.header.get(name) ?? undefined, request.contextValues.get(CONNECTION));
    if (caller instanceof ConnectError) throw caller;
    if (!request.stream) {
      allowMessage(caller, procedure, request.message);
      return next(request);
    }
    const release = gate.limits.openStream(caller);
    if (release instanceof ConnectError) throw release;
    try {
      const response = (await next({ ...request, message: allowedMessages(caller, procedure, request.message) })) as StreamResponse;
      return { ...response, message: releasedAtEnd(response.message, release) };
    } catch (error) {
      release();
      throw error;
    }
  };
}

/** Throws the refusal, or writes the implied account id into the message. */
function allowMessage(caller: Caller, procedure: string, message: object): void {
  const keyed = message as { accountId?: unknown };
  const accountId = typeof keyed.accountId === "string" ? keyed.accountId : "";
  const allowed = authorize(caller, procedure, accountId);
  if (allowed instanceof ConnectError) throw allowed;
  if (allowed.implied) keyed.accountId = allowed.accountId;
}

async function* allowedMessages(caller: Caller, procedure: string, messages: StreamRequest["message"]): AsyncIterable<Message> {
  for await (const message of messages) {
    allowMessage(caller, procedure, message);
    yield message;
  }
}

async function* releasedAtEnd(messages: AsyncIterable<Message>, release: () => void): AsyncIterable<Message> {
  try {
    yield* messages;
  } finally {
    release();
  }
}
