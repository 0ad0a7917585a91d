// The names of a message's generated functions, from its name within its package
// (oms.log.v1.OrderTerms: newOrderTerms, writeOrderTerms, readOrderTerms, encode..., decode...).
import type { DescMessage } from "@bufbuild/protobuf";
import type { Printable } from "@bufbuild/protoplugin";

export interface CodecNames<P extends Printable = string> {
  /** A message with every field at its zero value, as create() makes it. */
  create: P;
  /** Writes the message's fields (not its tag or length) into a WireWriter. */
  write: P;
  /** Reads fields until the WireReader's current end into a message, merging. */
  read: P;
  /** Gives a decoded message back to be handed out again by create. */
  release: P;
  /** The message's bytes. */
  encode: string;
  /** The message of these bytes; a WireFormatError for damaged ones. */
  decode: string;
}

export function codecNames(message: DescMessage): CodecNames {
  const packagePrefix = message.file.proto.package === "" ? "" : `${message.file.proto.package}.`;
  const base = message.typeName.slice(packagePrefix.length).replace(/\./g, "_");
  return { create: `new${base}`, write: `write${base}`, read: `read${base}`, release: `release${base}`, encode: `encode${base}`, decode: `decode${base}` };
}
