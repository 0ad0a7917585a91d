// Unknown enum values in a JSON request, which protobuf-es's reader cannot be asked to refuse
// on their own: with ignoreUnknownFields (the Connect servers' default, so that older servers
// take newer clients' fields) it also drops an unknown enum string, and the field reads as its
// zero value: `{"status":"BOGUS"}` to ListOrders would list the open orders. Binary requests
// keep an unknown enum number, which the node refuses naming the field.
import type { DescField, DescMessage, JsonValue } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";

// Our requests nest two deep; a deeper JSON document is left to the decoder's own limit.
const DEPTH_MAX = 32;

/** The error naming the first field holding a value its enum does not have, or null. */
export function unknownEnumInJson(message: DescMessage, json: JsonValue): ConnectError | null {
  const problem = walkMessage(message, json, "", 0);
  return problem === null ? null : new ConnectError(problem, Code.InvalidArgument);
}

const withEnums = new WeakMap<DescMessage, boolean>();

/** Whether the message holds an enum field anywhere below it: most requests hold none. */
function holdsEnums(message: DescMessage, seen: Set<DescMessage> = new Set()): boolean {
  const known = withEnums.get(message);
  if (known !== undefined) return known;
  if (seen.has(message)) return false;
  seen.add(message);
  const holds = message.fields.some((field) => {
    const kind = field.fieldKind === "list" ? field.listKind : field.fieldKind === "map" ? field.mapKind : field.fieldKind;
    if (kind === "enum") return true;
    return kind === "message" && field.message !== undefined && holdsEnums(field.message, seen);
  });
  withEnums.set(message, holds);
  return holds;
}

function walkMessage(message: DescMessage, json: JsonValue, path: string, depth: number): string | null {
  if (depth > DEPTH_MAX || json === null || typeof json !== "object" || Array.isArray(json) || !holdsEnums(message)) return null;
  for (const field of message.fields) {
    const value = json[field.jsonName] ?? json[field.name];
    if (value === undefined || value === null) continue;
    const problem = walkField(field, value, `${path}${field.name}`, depth);
    if (problem !== null) return problem;
  }
  return null;
}

function walkField(field: DescField, value: JsonValue, path: string, depth: number): string | null {
  switch (field.fieldKind) {
    case "enum":
      return enumProblem(field.enum.values, value, path, field.enum.typeName);
    case "message":
      return walkMessage(field.message, value, `${path}.`, depth + 1);
    case "list":
      if (!Array.isArray(value)) return null;
      for (const [index, item] of value.entries()) {
        const itemPath = `${path}[${index}]`;
        const problem = field.listKind === "enum" ? enumProblem(field.enum.values, item, itemPath, field.enum.typeName) : field.listKind === "message" ? walkMessage(field.message, item, `${itemPath}.`, depth + 1) : null;
        if (problem !== null) return problem;
      }
      return null;
    case "map":
      if (value === null || typeof value !== "object" || Array.isArray(value)) return null;
      for (const [key, item] of Object.entries(value)) {
        const itemPath = `${path}[${JSON.stringify(key)}]`;
        const problem = field.mapKind === "enum" ? enumProblem(field.enum.values, item, itemPath, field.enum.typeName) : field.mapKind === "message" ? walkMessage(field.message, item, `${itemPath}.`, depth + 1) : null;
        if (problem !== null) return problem;
      }
      return null;
    default:
      return null;
  }
}

function enumProblem(values: readonly { name: string; number: number }[], value: JsonValue, path: string, typeName: string): string | null {
  if (typeof value === "string" ? values.some((known) => known.name === value) : typeof value !== "number" || values.some((known) => known.number === value)) return null;
  return `${path}: unknown value ${JSON.stringify(value)} of ${typeName}`;
}
