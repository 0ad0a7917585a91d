// gzip is the one compression the server reads and writes, in every protocol: what a client may
// name for its own messages, and whether it takes gzipped answers.
import { Code, ConnectError } from "@connectrpc/connect";

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
