// What server reflection looks things up in: the services a server serves and the proto files
// that define them and everything they import, taken from the descriptors protobuf-es generated
// (each service's DescFile and its dependencies), so it can never disagree with the code.

import type { DescEnum, DescExtension, DescFile, DescMessage, DescService } from "@bufbuild/protobuf";

export interface ReflectionIndex {
  /** Fully qualified names of the services served, sorted. */
  readonly services: readonly string[];
  /** A file by its name as it is imported ("oms/v1/order_service.proto"). */
  fileByName(name: string): DescFile | undefined;
  /**
   * The file that declares a fully qualified name: a service, method, message, field, oneof,
   * enum, enum value or extension (what protoc's descriptor pool finds by name).
   */
  fileOfSymbol(symbol: string): DescFile | undefined;
  /** Whether a message of this name is known: an extension's containing type must be. */
  hasMessage(typeName: string): boolean;
  /** The files declaring extensions of a message, by field number. */
  extensionsOf(typeName: string): ReadonlyMap<number, DescFile>;
}

export function reflectionIndex(services: readonly DescService[]): ReflectionIndex {
  const files = new Map<string, DescFile>();
  const pending = services.map((service) => service.file);
  // Imports form a DAG; a work list instead of recursion walks it once per file.
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (files.has(file.proto.name)) continue;
    files.set(file.proto.name, file);
    pending.push(...file.dependencies);
  }
  const symbols = new Map<string, DescFile>();
  const messages = new Set<string>();
  const extensions = new Map<string, Map<number, DescFile>>();
  for (const file of files.values()) {
    for (const service of file.services) {
      symbols.set(service.typeName, file);
      for (const method of service.methods) symbols.set(`${service.typeName}.${method.name}`, file);
    }
    const declared: DescExtension[] = [...file.extensions];
    const messageQueue = [...file.messages];
    for (let message = messageQueue.pop(); message !== undefined; message = messageQueue.pop()) {
      addMessage(symbols, message, file);
      messages.add(message.typeName);
      messageQueue.push(...message.nestedMessages);
      for (const nested of message.nestedEnums) addEnum(symbols, nested, message.typeName, file);
      declared.push(...message.nestedExtensions);
    }
    for (const enumeration of file.enums) addEnum(symbols, enumeration, file.proto.package, file);
    for (const extension of declared) {
      symbols.set(extension.typeName, file);
      const byNumber = extensions.get(extension.extendee.typeName) ?? new Map<number, DescFile>();
      byNumber.set(extension.number, file);
      extensions.set(extension.extendee.typeName, byNumber);
    }
  }
  const names = [...new Set(services.map((service) => service.typeName))].sort();
  return {
    services: names,
    fileByName: (name) => files.get(name),
    fileOfSymbol: (symbol) => symbols.get(symbol),
    hasMessage: (typeName) => messages.has(typeName),
    extensionsOf: (typeName) => extensions.get(typeName) ?? new Map(),
  };
}

function addMessage(symbols: Map<string, DescFile>, message: DescMessage, file: DescFile): void {
  symbols.set(message.typeName, file);
  for (const field of message.fields) symbols.set(`${message.typeName}.${field.name}`, file);
  for (const oneof of message.oneofs) symbols.set(`${message.typeName}.${oneof.name}`, file);
}

// An enum value's full name is a sibling of its enum's, not a child (protobuf's C++ scoping).
function addEnum(symbols: Map<string, DescFile>, enumeration: DescEnum, scope: string, file: DescFile): void {
  symbols.set(enumeration.typeName, file);
  const prefix = scope === "" ? "" : `${scope}.`;
  for (const value of enumeration.values) symbols.set(`${prefix}${value.name}`, file);
}

/** The file and every file it imports, directly or not, the file first, each once. */
export function withDependencies(file: DescFile): DescFile[] {
  const seen = new Set<string>();
  const ordered: DescFile[] = [];
  const pending = [file];
  for (let next = pending.shift(); next !== undefined; next = pending.shift()) {
    if (seen.has(next.proto.name)) continue;
    seen.add(next.proto.name);
    ordered.push(next);
    pending.push(...next.dependencies);
  }
  return ordered;
}
