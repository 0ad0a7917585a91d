// The encoder of one message: write<Name>(w, m) writes its fields as toBinary does (in number
// order; an implicit-presence field at its zero value, an unset optional or message field and
// an empty list left out; numeric lists packed), and encode<Name>(m) gives its bytes.
import type { DescField, DescMessage } from "@bufbuild/protobuf";
import type { Printable } from "@bufbuild/protoplugin";
import { codecNames } from "./codec-names.ts";
import type { EmitContext } from "./plugin.ts";
import { tagOf, WIRE_LENGTH_DELIMITED, wireScalarOf } from "./wire-scalar.ts";

export function emitEncoder(ctx: EmitContext, message: DescMessage, exported: boolean): void {
  const { f } = ctx;
  const own = codecNames(message);
  const shape = f.importShape(message);
  const exportWord = exported ? "export " : "";
  const lines = writeLines(ctx, message);
  const [w, m] = lines.length === 0 ? ["_w", "_m"] : ["w", "m"];
  f.print(f.jsDoc(`Writes the fields of ${message.typeName} as toBinary writes them.`));
  f.print(exportWord, "function ", own.write, "(", w, ": ", ctx.runtime("WireWriter", true), ", ", m, ": ", shape, "): void {");
  for (const line of lines) f.print("  ", line);
  f.print("}");
  f.print();
  if (!exported) return;
  f.print(f.jsDoc(`The bytes toBinary gives for this ${message.typeName}.`));
  f.print("export function ", own.encode, "(m: ", shape, "): Uint8Array {");
  f.print("  writer.reset();");
  f.print("  ", own.write, "(writer, m);");
  f.print("  return writer.finish();");
  f.print("}");
  f.print();
}

/** The statements that write every field, in number order. */
function writeLines(ctx: EmitContext, message: DescMessage): Printable[][] {
  const sorted = [...message.fields].sort((a, b) => a.number - b.number);
  const lines: Printable[][] = [];
  for (let i = 0; i < sorted.length; ) {
    const field = sorted[i] as DescField;
    const oneof = field.oneof;
    if (oneof === undefined) {
      lines.push(...fieldLines(ctx, field, `m.${field.localName}`, true));
      i += 1;
      continue;
    }
    // A oneof's members that follow one another in number order are written by one switch at
    // that place; toBinary writes the set member where its number falls.
    const run: DescField[] = [];
    while (i < sorted.length && sorted[i]?.oneof === oneof) run.push(sorted[i++] as DescField);
    lines.push(["switch (m.", oneof.localName, ".case) {"]);
    for (const member of run) {
      lines.push([`  case ${JSON.stringify(member.localName)}: {`]);
      for (const line of fieldLines(ctx, member, `m.${oneof.localName}.value`, false)) lines.push(["    ", line]);
      lines.push(["    break;"]);
      lines.push(["  }"]);
    }
    lines.push(["}"]);
  }
  return lines;
}

/**
 * The statements that write one field whose value is `value`. `presenceChecked` is false for a
 * oneof member, which is written whenever it is the case set, even at its zero value.
 */
function fieldLines(ctx: EmitContext, field: DescField, value: string, presenceChecked: boolean): Printable[][] {
  const name = `${field.parent.typeName}.${field.name}`;
  switch (field.fieldKind) {
    case "message": {
      const write = ctx.names(field.message).write;
      const body: Printable[][] = [[`w.varint(${tagOf(field, WIRE_LENGTH_DELIMITED)});`], ["const at = w.begin();"], [write, `(w, ${value});`], ["w.end(at);"]];
      if (!presenceChecked) return body;
      return [[`if (${value} !== undefined) {`], ...body.map((line) => ["  ", line]), ["}"]];
    }
    case "scalar":
    case "enum": {
      const scalar = wireScalarOf(field);
      const body = [`w.varint(${tagOf(field, scalar.wireType)});`, scalar.write(value, name)];
      if (!presenceChecked) return body.map((line) => [line]);
      const set = field.presence === 2 /* IMPLICIT */ ? scalar.isSet(value) : `${value} !== undefined`;
      return [[`if (${set}) {`], ...body.map((line) => ["  ", line]), ["}"]];
    }
    case "list": {
      if (field.listKind === "message") {
        const write = ctx.names(field.message).write;
        return [
          [`for (const item of ${value}) {`],
          [`  w.varint(${tagOf(field, WIRE_LENGTH_DELIMITED)});`],
          ["  const at = w.begin();"],
          ["  ", write, "(w, item);"],
          ["  w.end(at);"],
          ["}"],
        ];
      }
      const scalar = wireScalarOf(field);
      if (scalar.wireType === WIRE_LENGTH_DELIMITED || !field.packed) {
        return [[`for (const item of ${value}) {`], [`  w.varint(${tagOf(field, scalar.wireType)});`], ["  ", scalar.write("item", name)], ["}"]];
      }
      return [
        [`if (${value}.length > 0) {`],
        [`  w.varint(${tagOf(field, WIRE_LENGTH_DELIMITED)});`],
        ["  const at = w.begin();"],
        [`  for (const item of ${value}) ${scalar.write("item", name)}`],
        ["  w.end(at);"],
        ["}"],
      ];
    }
    case "map":
      throw new Error(`protoc-gen-oms-wire: ${name} is a map; maps are not supported`);
  }
}
