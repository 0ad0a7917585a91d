// How each scalar the generator supports is written and read: its wire type, the WireWriter
// and WireReader calls, and its zero value (which proto3 leaves out). A type not in this table
// stops generation with an error rather than being written some other way than toBinary does.
import { ScalarType, type DescField } from "@bufbuild/protobuf";

export const WIRE_VARINT = 0;
export const WIRE_LENGTH_DELIMITED = 2;

export interface WireScalar {
  wireType: number;
  /** A TypeScript expression that is true when `value` is not the zero value. */
  isSet(value: string): string;
  /** A statement that writes `value` (after its tag); `name` is the field for refusals. */
  write(value: string, name: string): string;
  /** An expression that reads one value; `name` is the field for refusals. */
  read(name: string): string;
}

const int32Like = (write: string, read: string): WireScalar => ({
  wireType: WIRE_VARINT,
  isSet: (v) => `${v} !== 0`,
  write: (v, name) => `w.${write}(${v}, ${JSON.stringify(name)});`,
  read: (name) => `r.${read}(${JSON.stringify(name)})`,
});

const int64Like = (write: string, read: string): WireScalar => ({
  wireType: WIRE_VARINT,
  isSet: (v) => `${v} !== 0n`,
  write: (v, name) => `w.${write}(${v}, ${JSON.stringify(name)});`,
  read: (name) => `r.${read}(${JSON.stringify(name)})`,
});

const SCALARS: ReadonlyMap<ScalarType, WireScalar> = new Map([
  [ScalarType.INT32, int32Like("int32", "int32")],
  [ScalarType.UINT32, int32Like("uint32", "varint32")],
  [ScalarType.INT64, int64Like("int64", "int64")],
  [ScalarType.UINT64, int64Like("uint64", "uint64")],
  [
    ScalarType.BOOL,
    {
      wireType: WIRE_VARINT,
      isSet: (v) => `${v} !== false`,
      write: (v) => `w.varint(${v} ? 1 : 0);`,
      read: (name) => `r.bool(${JSON.stringify(name)})`,
    },
  ],
  [
    ScalarType.STRING,
    {
      wireType: WIRE_LENGTH_DELIMITED,
      isSet: (v) => `${v} !== ""`,
      write: (v, name) => `w.text(${v}, ${JSON.stringify(name)});`,
      read: (name) => `r.string(${JSON.stringify(name)})`,
    },
  ],
  [
    ScalarType.BYTES,
    {
      wireType: WIRE_LENGTH_DELIMITED,
      isSet: (v) => `${v}.length !== 0`,
      write: (v) => `w.bytes(${v});`,
      read: (name) => `r.byteString(${JSON.stringify(name)})`,
    },
  ],
]);

/** Enums are open in proto3: any int32 is kept, as protobuf-es keeps it. */
const ENUM = int32Like("int32", "int32");

/** The scalar handling of a scalar or enum field (or list element); throws for types not supported. */
export function wireScalarOf(field: DescField): WireScalar {
  const isEnum = field.fieldKind === "enum" || (field.fieldKind === "list" && field.listKind === "enum");
  if (isEnum) return ENUM;
  const scalar = field.fieldKind === "scalar" || (field.fieldKind === "list" && field.listKind === "scalar") ? field.scalar : undefined;
  const known = scalar === undefined ? undefined : SCALARS.get(scalar);
  if (known === undefined || ((field.fieldKind === "scalar" || field.fieldKind === "list") && "longAsString" in field && field.longAsString)) {
    throw new Error(`protoc-gen-oms-wire: ${field.parent.typeName}.${field.name} has a type this generator does not write (${scalar === undefined ? field.fieldKind : ScalarType[scalar]}); add it to wire-scalar.ts`);
  }
  return known;
}

/** A field's tag: its number and wire type, as the wire writes it before the value. */
export function tagOf(field: DescField, wireType: number): number {
  return ((field.number << 3) | wireType) >>> 0;
}
