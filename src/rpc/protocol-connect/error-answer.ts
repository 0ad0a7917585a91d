// A Connect error as it goes on the wire: the JSON error body, with the HTTP status the Connect
// protocol gives its code unless the failure is HTTP's own (404 no such method, 405 wrong HTTP
// method, 415 wrong content type), which keeps its status and still gets the body.
import type { ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";

export interface ErrorAnswer {
  status: number;
  body: Uint8Array;
}

export function errorAnswerOf(error: ConnectError, httpStatus?: number): ErrorAnswer {
  return { status: httpStatus ?? codeToHttpStatus(error.code), body: errorToJsonBytes(error, {}) };
}
