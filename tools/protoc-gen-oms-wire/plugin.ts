// protoc-gen-oms-wire: for each message of the proto files it is given, a codec that writes the
// bytes protobuf-es's toBinary writes and reads what fromBinary reads, as straight-line code
// over src/rpc/protobuf-wire.ts instead of protobuf-es's generic reflection. Field numbers, wire
// types and names come from the descriptors here, so a field added to a .proto reaches the
// codec by regenerating. The messages are protobuf-es's own shapes (imported from the _pb.ts
// files protoc-gen-es writes: plain objects with $typeName), so a decoded message can go
// anywhere a protobuf-es message goes.
import type { DescFile, DescMessage } from "@bufbuild/protobuf";
import { createEcmaScriptPlugin, type GeneratedFile, type Printable, type Schema } from "@bufbuild/protoplugin";
import { emitDecoder } from "./emit-decoder.ts";
import { emitEncoder } from "./emit-encoder.ts";
import { codecNames, type CodecNames } from "./codec-names.ts";

export interface WireOptions {
  /** Where protobuf-wire.ts is, relative to the output directory. */
  runtime: string;
  /** The proto packages whose files get a codec (option package, once per package); others (grpc.health) are left to protobuf-es. */
  packages: ReadonlySet<string>;
  /** Fields read with WireReader.repeatedString (text that repeats record after record), by full name (option intern, once per field). */
  intern: ReadonlySet<string>;
}

export const protocGenOmsWire = createEcmaScriptPlugin<WireOptions>({
  name: "protoc-gen-oms-wire",
  version: "v1",
  parseOptions(raw) {
    let runtime = "";
    const intern = new Set<string>();
    const packages = new Set<string>();
    for (const { key, value } of raw) {
      if (key === "runtime") runtime = value;
      else if (key === "package") packages.add(value);
      else if (key === "intern") intern.add(value);
      else throw new Error(`protoc-gen-oms-wire: unknown option ${key}`);
    }
    if (runtime === "") throw new Error("protoc-gen-oms-wire: option runtime (the path of protobuf-wire.ts) is required");
    return { runtime, intern, packages };
  },
  generateTs,
});

function generateTs(schema: Schema<WireOptions>): void {
  const generated = new Set(schema.files.filter((file) => schema.options.packages.has(file.proto.package)));
  for (const file of generated) {
    const f = schema.generateFile(`${file.name}_wire.ts`);
    f.preamble(file);
    const runtime = (name: string, typeOnly = false) => f.import(name, `./${schema.options.runtime.replace(/\.ts$/, ".js")}`, typeOnly);
    const names = (message: DescMessage): CodecNames<Printable> => {
      const own = codecNames(message);
      if (message.file === file || !generated.has(message.file)) return own;
      const from = `./${message.file.name}_wire.js`;
      return { ...own, read: f.import(own.read, from), write: f.import(own.write, from), create: f.import(own.create, from), release: f.import(own.release, from) };
    };
    const context = { f, runtime, names, intern: schema.options.intern };
    f.print("const reader = new ", runtime("WireReader"), "();");
    f.print("const writer = new ", runtime("WireWriter"), "();");
    f.print();
    for (const message of messagesOf(schema, file, generated)) {
      refuseUnsupported(message);
      emitEncoder(context, message, message.file === file);
      emitDecoder(context, message, message.file === file);
    }
  }
}

export interface EmitContext {
  f: GeneratedFile;
  runtime: (name: string, typeOnly?: boolean) => ReturnType<GeneratedFile["import"]>;
  names: (message: DescMessage) => CodecNames<Printable>;
  intern: ReadonlySet<string>;
}

/**
 * The file's messages, then those of files not generated (google.protobuf.Timestamp) that they
 * use, each written once into this file for its own use.
 */
function messagesOf(schema: Schema<WireOptions>, file: DescFile, generated: ReadonlySet<DescFile>): DescMessage[] {
  const own: DescMessage[] = [];
  for (const type of schema.typesInFile(file)) if (type.kind === "message") own.push(type);
  const foreign: DescMessage[] = [];
  const pending = [...own];
  for (let message = pending.pop(); message !== undefined; message = pending.pop()) {
    for (const field of message.fields) {
      const used = field.fieldKind === "message" || (field.fieldKind === "list" && field.listKind === "message") ? field.message : undefined;
      if (used !== undefined && !generated.has(used.file) && !foreign.includes(used)) {
        foreign.push(used);
        pending.push(used);
      }
    }
  }
  return [...own, ...foreign];
}

/**
 * Maps, groups and recursive messages are refused: the schemas have none, and the generated
 * readers are straight-line code whose nesting the schema bounds (no recursion to limit).
 */
function refuseUnsupported(message: DescMessage): void {
  const path: DescMessage[] = [];
  const visit = (m: DescMessage): void => {
    if (path.includes(m)) throw new Error(`protoc-gen-oms-wire: ${m.typeName} contains itself; recursive messages are not supported`);
    path.push(m);
    for (const field of m.fields) {
      if (field.fieldKind === "map") throw new Error(`protoc-gen-oms-wire: ${m.typeName}.${field.name} is a map; maps are not supported`);
      if ((field.fieldKind === "message" || (field.fieldKind === "list" && field.listKind === "message")) && field.delimitedEncoding) {
        throw new Error(`protoc-gen-oms-wire: ${m.typeName}.${field.name} is a group; groups are not supported`);
      }
      if (field.fieldKind === "message" || (field.fieldKind === "list" && field.listKind === "message")) visit(field.message);
    }
    path.pop();
  };
  visit(message);
}
