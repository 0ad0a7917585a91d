// The key a request presents, from its headers: `Authorization: Bearer ID:SECRET`, or Alpaca's
// APCA-API-KEY-ID and APCA-API-SECRET-KEY (for clients written against Alpaca's API). Header
// names are case-insensitive; node:http and node:http2 hand them over lower-cased.
import { Code, ConnectError } from "@connectrpc/connect";

export interface Credentials {
  readonly keyId: string;
  readonly secret: string;
}

/** Header access that fits node's IncomingHttpHeaders and the Fetch API's Headers alike. */
export type HeaderLookup = (name: string) => string | undefined;

const BEARER = /^Bearer[ \t]+([^:\s]+):(\S+)[ \t]*$/i;
/** Longer than any key we issue by far; bounds what is hashed per refused request. */
const CREDENTIAL_CHARS_MAX = 256;

/** The credentials, or the UNAUTHENTICATED refusal that names what is missing or malformed. */
export function credentialsOf(header: HeaderLookup): Credentials | ConnectError {
  const authorization = header("authorization");
  const alpacaId = header("apca-api-key-id");
  const alpacaSecret = header("apca-api-secret-key");
  if (authorization !== undefined) {
    if (authorization.length > CREDENTIAL_CHARS_MAX) return refused("authorization: too long");
    const match = BEARER.exec(authorization);
    if (match === null) return refused("authorization: expected \"Bearer ID:SECRET\"");
    return { keyId: match[1] as string, secret: match[2] as string };
  }
  if (alpacaId !== undefined || alpacaSecret !== undefined) {
    if (alpacaId === undefined || alpacaId === "") return refused("apca-api-key-id: is required with apca-api-secret-key");
    if (alpacaSecret === undefined || alpacaSecret === "") return refused("apca-api-secret-key: is required with apca-api-key-id");
    if (alpacaId.length + alpacaSecret.length > CREDENTIAL_CHARS_MAX) return refused("apca-api-key-id: too long");
    return { keyId: alpacaId.trim(), secret: alpacaSecret.trim() };
  }
  return refused("authorization: an API key is required (Authorization: Bearer ID:SECRET, or APCA-API-KEY-ID and APCA-API-SECRET-KEY)");
}

export function nodeHeaderLookup(headers: Readonly<Record<string, string | string[] | undefined>>): HeaderLookup {
  return (name) => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
}

function refused(message: string): ConnectError {
  return new ConnectError(message, Code.Unauthenticated);
}
