// gzip is the one compression the server reads and writes, in every protocol: what a client may
// name for its own messages, and whether it takes gzipped answers.
import { Code, ConnectError } from "@connectrpc/connect";
import type { Compression } from "@connectrpc/connect/protocol";
import { compressionGzip } from "@connectrpc/connect-node";

/** "gzip", null for none, or the refusal of a compression we do not have, naming `where` it was given. */
export function compressionOf(where: string, name: string | undefined): "gzip" | null | ConnectError {
  if (name === undefined || name === "identity") return null;
  if (name === "gzip") return "gzip";
  return new ConnectError(`${where}: unknown compression ${JSON.stringify(name)}; supported encodings are gzip, identity`, Code.Unimplemented);
}

/** The client lists gzip among the encodings it accepts (the only one we compress with). */
export function acceptsGzip(accepted: string | string[] | undefined): boolean {
  if (accepted === undefined) return false;
  const list = Array.isArray(accepted) ? accepted.join(",") : accepted;
  return list.split(",").some((entry) => {
    const [name, ...params] = entry.split(";").map((part) => part.trim());
    return name === "gzip" && !params.some((param) => /^q=0(\.0*)?$/.test(param));
  });
}

/**
 * connect-node's gzip for connect-es's calls, with a client's gzip that does not inflate refused
 * as INVALID_ARGUMENT, as our own paths refuse it: connect-node says INTERNAL (HTTP 500) for a
 * gzip stream cut short (Z_BUF_ERROR), though only the client's bytes are at fault (found by test/fuzz).
 */
export const gzipOfClients: Compression = {
  name: compressionGzip.name,
  compress: (bytes) => compressionGzip.compress(bytes),
  decompress: (bytes, readMaxBytes) =>
    compressionGzip.decompress(bytes, readMaxBytes).catch((error: unknown) => {
      const refusal = ConnectError.from(error);
      if (refusal.code !== Code.Internal) throw refusal;
      throw new ConnectError(`cannot decompress gzip message: ${refusal.rawMessage}`, Code.InvalidArgument, undefined, undefined, error);
    }),
};
