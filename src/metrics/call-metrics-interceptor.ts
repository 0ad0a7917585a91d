// Reports each call that connect-es serves on the balancer to edgeMetrics.callEnded, as the
// our own paths do for theirs: a unary call when its answer is ready, a stream when it ends.
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { edgeMetrics } from "./balancer-metrics.ts";

export const callMetricsInterceptor: Interceptor = (next) => async (request) => {
  const method = `${request.service.typeName}/${request.method.name}`;
  const startedMs = edgeMetrics.now();
  const ended = (code: Code | null) => edgeMetrics.callEnded(method, code, (edgeMetrics.now() - startedMs) / 1000);
  let response;
  try {
    response = await next(request);
  } catch (error) {
    ended(ConnectError.from(error).code);
    throw error;
  }
  if (!response.stream) {
    ended(null);
    return response;
  }
  return { ...response, message: countedAtEnd(response.message, ended) };
};

async function* countedAtEnd<T>(messages: AsyncIterable<T>, ended: (code: Code | null) => void): AsyncGenerator<T> {
  // A stream the client gave up on is left by return(), with neither an error nor an end.
  let code: Code | null = Code.Canceled;
  try {
    yield* messages;
    code = null;
  } catch (error) {
    code = ConnectError.from(error).code;
    throw error;
  } finally {
    ended(code);
  }
}
