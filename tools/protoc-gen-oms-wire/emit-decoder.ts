// The decoder of one message: new<Name>() makes it as create() does, read<Name>(r, m) reads
// fields into it as fromBinary does (any order; a singular field's last value wins; a message
// field, or the same oneof message case, merges; another oneof case replaces; list elements
// append, numeric ones packed or not; unknown fields skipped), and decode<Name>(bytes) reads a
// whole message. Stricter than fromBinary in one way: a known field with another wire type than
// the schema's is refused as damage (fromBinary would read it as if it had the right one).
import { ScalarType, type DescMessage } from "@bufbuild/protobuf";
import type { Printable } from "@bufbuild/protoplugin";
import { codecNames } from "./codec-names.ts";
import type { EmitContext } from "./plugin.ts";
import { tagOf, WIRE_LENGTH_DELIMITED, WIRE_VARINT, wireScalarOf } from "./wire-scalar.ts";

export function emitDecoder(ctx: EmitContext, message: DescMessage, exported: boolean): void {
  const { f } = ctx;
  const own = codecNames(message);
  const shape = f.importShape(message);
  const exportWord = exported ? "export " : "";
  const pool = `pool${own.create.slice("new".length)}`;
  f.print("/** Messages given back by ", own.release, ", for ", own.create, " to hand out again. */");
  f.print("const ", pool, ": ", shape, "[] = [];");
  f.print();
  f.print(f.jsDoc(`A ${message.typeName} with every field at its zero value, as create() makes it: one given back by ${own.release} if there is one.`));
  f.print(exportWord, "function ", own.create, "(): ", shape, " {");
  f.print("  const m = ", pool, ".pop();");
  // Every field is a property from the start, an unset optional or message field as undefined
  // (which toBinary and these encoders leave out as they do an absent one): all messages of a
  // type then share one object shape, where adding properties later made the JavaScript engine
  // change shapes and grow storage per message (record decode 0.72 -> 0.51 µs).
  const zero = zeroFields(message);
  const cast = message.fields.some((field) => field.oneof === undefined && field.fieldKind !== "list" && field.presence !== 2);
  f.print("  if (m === undefined) return { $typeName: ", f.string(message.typeName), zero, " }", cast ? [" as unknown as ", shape] : "", ";");
  const resets = resetLines(ctx, message);
  if (resets.some((line) => typeof line !== "string" || line.startsWith("u."))) f.print("  const u = m as ", ctx.runtime("Unset", true), "<", shape, ">;");
  for (const line of resets) f.print("  ", line);
  f.print("  return m;");
  f.print("}");
  f.print();
  emitRelease(ctx, message, exportWord, shape, pool);
  const cases = readCases(ctx, message);
  f.print(f.jsDoc(`Reads ${message.typeName} fields up to the reader's end into m, as fromBinary merges them.`));
  f.print(exportWord, "function ", own.read, "(r: ", ctx.runtime("WireReader", true), ", m: ", shape, "): ", shape, " {");
  f.print("  while (r.more()) {");
  f.print("    const t = r.tag();");
  f.print("    switch (t) {");
  for (const line of cases) f.print("      ", line);
  f.print("      default:");
  // A field the schema has, with another wire type: damage, named by its field.
  if (message.fields.length > 0) {
    f.print("        switch (t >>> 3) {");
    for (const field of [...message.fields].sort((a, b) => a.number - b.number)) {
      f.print(`          case ${field.number}:`);
      f.print(`            throw r.wrongWireType(t, ${JSON.stringify(field.name)});`);
    }
    f.print("        }");
  }
  f.print("        r.skip(t);");
  f.print("    }");
  f.print("  }");
  f.print("  return m;");
  f.print("}");
  f.print();
  if (!exported) return;
  f.print(f.jsDoc(`The ${message.typeName} in these bytes; a WireFormatError naming the field and byte if they are damaged.`));
  f.print("export function ", own.decode, "(bytes: Uint8Array): ", shape, " {");
  f.print("  reader.reset(bytes, ", f.string(message.typeName), ");");
  f.print("  return ", own.read, "(reader, ", own.create, "());");
  f.print("}");
  f.print();
}

/** Each field of a message handed out again set as a new one's: lists emptied, oneofs unset. */
function resetLines(ctx: EmitContext, message: DescMessage): Printable[] {
  const lines: Printable[] = [];
  for (const oneof of message.oneofs) lines.push([`u.${oneof.localName} = `, ctx.runtime("NO_CASE"), ";"]);
  for (const field of message.fields) {
    if (field.oneof !== undefined) continue;
    if (field.fieldKind === "list") lines.push(`m.${field.localName}.length = 0;`);
    else if (field.fieldKind === "message" || field.presence !== 2) lines.push(`u.${field.localName} = undefined;`);
    else if (field.fieldKind === "enum") lines.push(`u.${field.localName} = ${field.enum.values[0]?.number ?? 0};`);
    else if (field.fieldKind === "scalar") lines.push(`u.${field.localName} = ${zeroOf(field.scalar)};`);
  }
  return lines;
}

/**
 * release<Name>(m): gives a decoded message and the messages in it back for new<Name> and the
 * others to hand out again, for a caller that has read what it needs from them and keeps none
 * (the log's record codec: replay decodes a million records). Each pool holds at most
 * POOL_MESSAGES_MAX messages; beyond, they are left to the collector.
 */
function emitRelease(ctx: EmitContext, message: DescMessage, exportWord: string, shape: Printable, pool: string): void {
  const { f } = ctx;
  const own = codecNames(message);
  f.print(f.jsDoc(`Gives m, and the messages in it, back to be handed out again by ${own.create}; m must not be used after.`));
  f.print(exportWord, "function ", own.release, "(m: ", shape, "): void {");
  f.print("  if (", pool, ".length >= ", ctx.runtime("POOL_MESSAGES_MAX"), ") return;");
  for (const field of message.fields) {
    if (field.fieldKind === "message" && field.oneof === undefined) {
      f.print(`  if (m.${field.localName} !== undefined) `, ctx.names(field.message).release, `(m.${field.localName});`);
    } else if (field.fieldKind === "list" && field.listKind === "message") {
      f.print(`  for (const item of m.${field.localName}) `, ctx.names(field.message).release, "(item);");
    }
  }
  for (const oneof of message.oneofs) {
    const members = oneof.fields.filter((member) => member.fieldKind === "message");
    if (members.length === 0) continue;
    f.print(`  const ${oneof.localName} = m.${oneof.localName};`);
    f.print(`  switch (${oneof.localName}.case) {`);
    for (const member of members) {
      if (member.fieldKind !== "message") continue;
      f.print(`    case ${JSON.stringify(member.localName)}:`);
      f.print("      ", ctx.names(member.message).release, `(${oneof.localName}.value);`);
      f.print("      break;");
    }
    f.print("  }");
  }
  f.print("  ", pool, ".push(m);");
  f.print("}");
  f.print();
}

/** create()'s fields (implicit-presence scalars at zero, empty lists, unset oneofs), and undefined for the rest. */
function zeroFields(message: DescMessage): string {
  let text = "";
  for (const oneof of message.oneofs) text += `, ${oneof.localName}: { case: undefined }`;
  for (const field of message.fields) {
    if (field.oneof !== undefined) continue;
    if (field.fieldKind === "list") text += `, ${field.localName}: []`;
    else if (field.fieldKind === "message" || field.presence !== 2) text += `, ${field.localName}: undefined`;
    else if (field.fieldKind === "enum") text += `, ${field.localName}: ${field.enum.values[0]?.number ?? 0}`;
    else if (field.fieldKind === "scalar") text += `, ${field.localName}: ${zeroOf(field.scalar)}`;
  }
  return text;
}

function zeroOf(scalar: ScalarType): string {
  switch (scalar) {
    case ScalarType.STRING:
      return '""';
    case ScalarType.BOOL:
      return "false";
    case ScalarType.BYTES:
      return "new Uint8Array(0)";
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return "0n";
    default:
      return "0";
  }
}

/** The switch cases that read each field, by tag. */
function readCases(ctx: EmitContext, message: DescMessage): Printable[][] {
  const lines: Printable[][] = [];
  for (const field of message.fields) {
    const name = JSON.stringify(field.name);
    const fullName = `${message.typeName}.${field.name}`;
    const oneof = field.oneof;
    switch (field.fieldKind) {
      case "message": {
        const { read, create } = ctx.names(field.message);
        lines.push([`case ${tagOf(field, WIRE_LENGTH_DELIMITED)}: {`]);
        lines.push([`  const outer = r.enter(${name});`]);
        if (oneof === undefined) {
          lines.push([`  m.${field.localName} = `, read, `(r, m.${field.localName} ?? `, create, "());"]);
        } else {
          const local = JSON.stringify(field.localName);
          lines.push([`  const oneof = m.${oneof.localName};`]);
          lines.push([`  m.${oneof.localName} = { case: ${local}, value: `, read, `(r, oneof.case === ${local} ? oneof.value : `, create, "()) };"]);
        }
        lines.push(["  r.leave(outer);"], ["  break;"], ["}"]);
        break;
      }
      case "scalar":
      case "enum": {
        const scalar = wireScalarOf(field);
        const read = ctx.intern.has(fullName) && field.fieldKind === "scalar" && field.scalar === ScalarType.STRING ? `r.repeatedString(${name})` : scalar.read(field.name);
        const target = oneof === undefined ? `m.${field.localName} = ${read};` : `m.${oneof.localName} = { case: ${JSON.stringify(field.localName)}, value: ${read} };`;
        lines.push([`case ${tagOf(field, scalar.wireType)}:`], [`  ${target}`], ["  break;"]);
        break;
      }
      case "list": {
        if (field.listKind === "message") {
          const { read, create } = ctx.names(field.message);
          lines.push([`case ${tagOf(field, WIRE_LENGTH_DELIMITED)}: {`]);
          lines.push([`  const outer = r.enterItem(${name}, m.${field.localName}.length);`]);
          lines.push([`  m.${field.localName}.push(`, read, "(r, ", create, "()));"]);
          lines.push(["  r.leave(outer);"], ["  break;"], ["}"]);
          break;
        }
        const scalar = wireScalarOf(field);
        const push = `m.${field.localName}.push(${scalar.read(field.name)});`;
        lines.push([`case ${tagOf(field, scalar.wireType)}:`], [`  ${push}`], ["  break;"]);
        if (scalar.wireType === WIRE_VARINT) {
          // Packed: the values one after another in one length-delimited field.
          lines.push([`case ${tagOf(field, WIRE_LENGTH_DELIMITED)}: {`], [`  const outer = r.enter(${name});`], [`  while (r.more()) ${push}`], ["  r.leave(outer);"], ["  break;"], ["}"]);
        }
        break;
      }
      case "map":
        throw new Error(`protoc-gen-oms-wire: ${fullName} is a map; maps are not supported`);
    }
  }
  return lines;
}
