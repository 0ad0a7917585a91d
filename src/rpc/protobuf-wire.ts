// The protobuf binary wire format at its lowest level: the reader and writer under the codecs
// that tools/protoc-gen-oms-wire generates from proto/ (src/gen/**/*_wire.ts), and the few byte
// operations the balancer does on messages it passes on still encoded. No schema is written
// here: field numbers and wire types come from the generated code and descriptors. It follows
// protobuf-es where the wire leaves a choice: a uint32 keeps the low 32 bits of a longer varint,
// strings must be valid UTF-8 (proto3), unknown fields and groups are skipped.

export const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
export const WIRE_LENGTH_DELIMITED = 2;
const WIRE_START_GROUP = 3;
const WIRE_END_GROUP = 4;
const WIRE_FIXED32 = 5;

/** How deep unknown groups may nest before a record is refused (protobuf-es allows 100). */
const GROUP_DEPTH_MAX = 100;
const TWO_POW_32 = 0x1_0000_0000;
/** The high word of a 64-bit value below 2^53: such a value is exact as a JS number. */
const SAFE_HIGH_WORD_MAX = 0x1f_ffff;

/** A field's tag: its number and wire type, as the wire writes it before the field's value. */
export function fieldTag(fieldNumber: number, wireType: number): number {
  return (fieldNumber << 3) | wireType;
}

/** Bytes of an unsigned varint of a value below 2^31 (tags and lengths). */
export function varintLength(value: number): number {
  let bytes = 1;
  for (let rest = value >>> 7; rest !== 0; rest >>>= 7) bytes += 1;
  return bytes;
}

/** Writes an unsigned varint of a value below 2^31 at offset; returns the offset after it. */
export function writeVarintAt(target: Uint8Array, offset: number, value: number): number {
  let pos = offset;
  let rest = value;
  while (rest > 0x7f) {
    target[pos++] = (rest & 0x7f) | 0x80;
    rest >>>= 7;
  }
  target[pos++] = rest;
  return pos;
}

/**
 * The bytes toBinary gives for a repeated message field (tag `fieldTag`) of these messages,
 * each already encoded, in order: one exact allocation, no copy through a writer.
 */
export function repeatedMessagesField(tag: number, messages: readonly Uint8Array[]): Uint8Array {
  const tagBytes = varintLength(tag);
  let total = 0;
  for (const message of messages) total += tagBytes + varintLength(message.length) + message.length;
  const bytes = new Uint8Array(total);
  let pos = 0;
  for (const message of messages) {
    pos = writeVarintAt(bytes, writeVarintAt(bytes, pos, tag), message.length);
    bytes.set(message, pos);
    pos += message.length;
  }
  return bytes;
}

const latin1Slice = Buffer.prototype.latin1Slice;
/** Text longer than this is not looked for among repeatedTexts (order ids are unique anyway). */
const REPEATED_TEXT_BYTES_MAX = 40;
/** Slots for repeated text: a power of two, enough for a shard's symbols and busy accounts. */
const REPEATED_TEXT_SLOTS = 4096;
const repeatedTexts: string[] = new Array<string>(REPEATED_TEXT_SLOTS).fill("\u0000");
const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** A message with each field settable to undefined: how a generated codec resets one handed out again. */
export type Unset<T> = { -readonly [K in keyof T]: T[K] | undefined };

/** An unset oneof, shared by the messages a generated codec hands out again (never changed: a set case replaces it). */
export const NO_CASE: { readonly case: undefined } = Object.freeze({ case: undefined });

/** Messages of one type a generated codec keeps to hand out again (its pool's bound). */
export const POOL_MESSAGES_MAX = 64;

/** Wire-level damage: the bytes are not a protobuf message of the expected shape. */
export class WireFormatError extends Error {
  override name = "WireFormatError";
}

/** A value its field's type cannot carry (an int64 beyond 64 bits): nothing was encoded. */
export class WireValueError extends Error {
  override name = "WireValueError";
}

/**
 * The bigints of 0 to 1023, made once: quantities, epochs and counts are small, a bigint is an
 * allocation, and a bigint never changes, so one can be handed out to every reader.
 */
const SMALL_BIGINTS_COUNT = 1024;
const SMALL_BIGINTS: readonly bigint[] = Array.from({ length: SMALL_BIGINTS_COUNT }, (_, value) => BigInt(value));

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

/**
 * A cursor over one message's bytes. Every read checks the bounds of the message it is in and
 * throws a WireFormatError naming the field and the byte position instead of reading past them.
 */
export class WireReader {
  bytes: Uint8Array = new Uint8Array(0);
  pos = 0;
  /** The end of the innermost message being read. */
  end = 0;
  /** The low and high 32 bits of the last 64-bit varint read (unsigned words). */
  lo = 0;
  hi = 0;
  /** Where the last text string() read lies in these bytes, and the text. */
  private lastTextStart = 0;
  private lastTextStop = 0;
  private lastText = "";
  /**
   * The last int64 read of 2^32 or more (a time in milliseconds, in practice) and its words:
   * records committed in the same millisecond carry the same at_ms, and handing out the same
   * immutable bigint again costs less than making one, which allocates.
   */
  private wideLo = 0;
  private wideHi = 0;
  private wide = 0n;
  /** The message type being read, and the fields entered since (a list element's index, or -1), for refusals. */
  private root = "";
  private readonly pathFields: string[] = [];
  private readonly pathIndexes: number[] = [];
  private depth = 0;

  /** Starts reading `bytes` as one message of type `root` (its full name, for refusals). */
  reset(bytes: Uint8Array, root = ""): void {
    this.bytes = bytes;
    this.lastTextStart = 0;
    this.lastTextStop = 0;
    this.lastText = "";
    this.pos = 0;
    this.end = bytes.length;
    this.root = root;
    this.depth = 0;
  }

  /** The next tag, as fieldNumber << 3 | wireType; checked to be a legal tag. */
  tag(): number {
    const bytes = this.bytes;
    const pos = this.pos;
    // Field numbers below 16 with any wire type: one byte, the common case.
    const first = pos < this.end ? (bytes[pos] as number) : -1;
    if (first >= 8 && first < 0x80 && (first & 7) <= 5) {
      this.pos = pos + 1;
      return first;
    }
    const tag = this.varint32("tag");
    if (this.pos - pos > 5 || (this.pos - pos === 5 && (bytes[this.pos - 1] as number) > 0x0f)) {
      throw this.error("tag", "varint overflows uint32", pos);
    }
    if (tag >>> 3 === 0 || (tag & 7) > 5) throw this.error("tag", `illegal field number ${tag >>> 3} with wire type ${tag & 7}`, pos);
    return tag;
  }

  /** A varint's low 32 bits, unsigned, as protobuf's uint32 reads a longer one. */
  varint32(field: string): number {
    const bytes = this.bytes;
    let pos = this.pos;
    if (pos < this.end) {
      const b = bytes[pos] as number;
      if (b < 0x80) {
        this.pos = pos + 1;
        return b;
      }
    }
    const start = pos;
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (pos >= this.end) throw this.error(field, "varint runs past the end", start);
      const b = bytes[pos++] as number;
      result |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        return result >>> 0;
      }
    }
    // Bytes 6 to 10 carry bits above 32, which a uint32 drops.
    for (let count = 5; count < 10; count += 1) {
      if (pos >= this.end) throw this.error(field, "varint runs past the end", start);
      if ((bytes[pos++] as number) < 0x80) {
        this.pos = pos;
        return result >>> 0;
      }
    }
    throw this.error(field, "varint is longer than 10 bytes", start);
  }

  /** A 64-bit varint into this.lo and this.hi (unsigned words); bits past 64 are dropped. */
  varint64(field: string): void {
    const bytes = this.bytes;
    let pos = this.pos;
    const start = pos;
    const end = this.end;
    let lo = 0;
    let hi = 0;
    let b = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (pos >= end) throw this.error(field, "varint runs past the end", start);
      b = bytes[pos++] as number;
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        this.lo = lo >>> 0;
        this.hi = 0;
        return;
      }
    }
    if (pos >= end) throw this.error(field, "varint runs past the end", start);
    b = bytes[pos++] as number;
    lo |= (b & 0x0f) << 28;
    hi = (b & 0x70) >> 4;
    for (let shift = 3; b >= 0x80; shift += 7) {
      if (shift > 31) throw this.error(field, "varint is longer than 10 bytes", start);
      if (pos >= end) throw this.error(field, "varint runs past the end", start);
      b = bytes[pos++] as number;
      hi |= (b & 0x7f) << shift;
    }
    this.pos = pos;
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
  }

  /** An int64 field. */
  int64(field: string): bigint {
    this.varint64(field);
    const hi = this.hi;
    if (hi === 0) {
      const lo = this.lo;
      return lo < SMALL_BIGINTS_COUNT ? (SMALL_BIGINTS[lo] as bigint) : BigInt(lo);
    }
    return this.wideInt64(hi);
  }

  /** int64()'s values of 2^32 and more, out of line so that int64() stays small enough to inline. */
  private wideInt64(hi: number): bigint {
    if (hi <= SAFE_HIGH_WORD_MAX) {
      const lo = this.lo;
      if (lo === this.wideLo && hi === this.wideHi) return this.wide;
      this.wideLo = lo;
      this.wideHi = hi;
      this.wide = BigInt(hi * TWO_POW_32 + lo);
      return this.wide;
    }
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(this.lo));
  }

  /** A uint64 field. */
  uint64(field: string): bigint {
    this.varint64(field);
    const hi = this.hi;
    if (hi === 0) {
      const lo = this.lo;
      return lo < SMALL_BIGINTS_COUNT ? (SMALL_BIGINTS[lo] as bigint) : BigInt(lo);
    }
    if (hi <= SAFE_HIGH_WORD_MAX) return BigInt(hi * TWO_POW_32 + this.lo);
    return (BigInt(hi) << 32n) | BigInt(this.lo);
  }

  /** An int32 field (or an enum): the low 32 bits of the varint, signed, as protobuf-es reads it. */
  int32(field: string): number {
    return this.varint32(field) | 0;
  }

  /** A bool field: any varint but zero is true. */
  bool(field: string): boolean {
    this.varint64(field);
    return this.lo !== 0 || this.hi !== 0;
  }

  /** A bytes field: a view of the message's own bytes, as protobuf-es gives it. */
  byteString(field: string): Uint8Array {
    const stop = this.lengthDelimitedEnd(field);
    const start = this.pos;
    this.pos = stop;
    return this.bytes.subarray(start, stop);
  }

  /** A string field; invalid UTF-8 is refused, as proto3 requires. */
  string(field: string): string {
    const stop = this.lengthDelimitedEnd(field);
    const start = this.pos;
    this.pos = stop;
    // Text with the same bytes as the last text string() read from these bytes (a client order
    // id that is the order id) comes back as the same string: no second copy, and comparing the
    // two later is one pointer test. reset() forgets it: a buffer may be rewritten between reads.
    const lastStart = this.lastTextStart;
    if (stop - start === this.lastTextStop - lastStart && this.sameBytes(start, stop, lastStart)) return this.lastText;
    const text = this.textAt(field, start, stop);
    this.lastTextStart = start;
    this.lastTextStop = stop;
    this.lastText = text;
    return text;
  }

  private sameBytes(start: number, stop: number, otherStart: number): boolean {
    const bytes = this.bytes;
    for (let i = start, j = otherStart; i < stop; i += 1, j += 1) {
      if (bytes[i] !== bytes[j]) return false;
    }
    return true;
  }

  /**
   * string(), for short text that repeats from record to record (account ids, symbols): the
   * same text comes back as the same string, found by its bytes, so a replay neither allocates
   * it again nor hashes it again at each Map lookup (a string caches its hash). Any other text
   * is read as string() reads it.
   */
  repeatedString(field: string): string {
    const stop = this.lengthDelimitedEnd(field);
    const start = this.pos;
    const length = stop - start;
    this.pos = stop;
    const bytes = this.bytes;
    if (length > REPEATED_TEXT_BYTES_MAX) return this.textAt(field, start, stop);
    // FNV-1a over the bytes picks the slot; a slot holds the last text that hashed there. The
    // bytes are checked for non-ASCII once after the loop, not byte by byte: text is ASCII
    // almost always, and a branch per byte cost more than the rare wasted hash.
    let hash = 0x811c9dc5;
    let high = 0;
    for (let i = start; i < stop; i += 1) {
      const byte = bytes[i] as number;
      high |= byte;
      hash = Math.imul(hash ^ byte, 0x01000193);
    }
    if (high >= 0x80) return this.utf8(field, start, stop);
    const slot = (hash >>> 0) & (REPEATED_TEXT_SLOTS - 1);
    const known = repeatedTexts[slot] as string;
    if (known.length === length) {
      let same = true;
      for (let i = 0; i < length; i += 1) {
        if (known.charCodeAt(i) !== bytes[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return known;
    }
    const text: string = latin1Slice.call(bytes, start, stop);
    repeatedTexts[slot] = text;
    return text;
  }

  private textAt(field: string, start: number, stop: number): string {
    const bytes = this.bytes;
    // One test after the loop rather than a branch per byte, as in repeatedString.
    let high = 0;
    for (let i = start; i < stop; i += 1) high |= bytes[i] as number;
    if (high >= 0x80) return this.utf8(field, start, stop);
    // ASCII, the usual case (ids, symbols): latin1 of ASCII is the same text, and latin1Slice
    // reads the bytes in place, where TextDecoder needs a subarray whose allocation (it
    // materializes the record's ArrayBuffer) costs more than the decoding.
    return latin1Slice.call(bytes, start, stop);
  }

  private utf8(field: string, start: number, stop: number): string {
    try {
      return utf8Strict.decode(this.bytes.subarray(start, stop));
    } catch (cause) {
      throw this.error(field, "not valid UTF-8", start, cause);
    }
  }

  /** Enters a length-delimited message field; returns the end to pass to leave(). */
  enter(field: string): number {
    return this.enterItem(field, -1);
  }

  /** Enters element `index` of a list of messages (or packed values); returns the end for leave(). */
  enterItem(field: string, index: number): number {
    const stop = this.lengthDelimitedEnd(field);
    const outer = this.end;
    this.end = stop;
    this.pathFields[this.depth] = field;
    this.pathIndexes[this.depth] = index;
    this.depth += 1;
    return outer;
  }

  /**
   * Reads a length-delimited field's length and returns where its bytes end, refusing a length
   * past the end of the message it is in; pos is left at the first of its bytes.
   */
  private lengthDelimitedEnd(field: string): number {
    const length = this.varint32(field);
    const stop = this.pos + length;
    if (stop > this.end) throw this.error(field, `length ${length} runs past the end`, this.pos);
    return stop;
  }

  /** Leaves the message entered last, at its end. */
  leave(outer: number): void {
    this.end = outer;
    this.depth -= 1;
  }

  /** True while the message being read has bytes left. */
  more(): boolean {
    return this.pos < this.end;
  }

  /** A known field (`field`) whose tag `tag` has another wire type than the schema's: damage. */
  wrongWireType(tag: number, field: string): WireFormatError {
    return this.error(field, `wire type ${tag & 7} is not the schema's`, this.pos);
  }

  /** Skips a field this reader does not know, as protobuf does with unknown fields. */
  skip(tag: number, field = `field ${tag >>> 3}`): void {
    const start = this.pos;
    switch (tag & 7) {
      case WIRE_VARINT:
        this.varint64(field);
        return;
      case WIRE_FIXED64:
        this.advance(8, field, start);
        return;
      case WIRE_FIXED32:
        this.advance(4, field, start);
        return;
      case WIRE_LENGTH_DELIMITED:
        this.advance(this.varint32(field), field, start);
        return;
      case WIRE_START_GROUP:
        this.skipGroup(tag >>> 3, field);
        return;
      default:
        throw this.error(field, `unexpected end-group tag for field ${tag >>> 3}`, start);
    }
  }

  /** A group is skipped with an explicit stack of field numbers, not by recursion. */
  private skipGroup(fieldNumber: number, field: string): void {
    const open = [fieldNumber];
    while (open.length > 0) {
      const start = this.pos;
      if (start >= this.end) throw this.error(field, "group has no end tag", start);
      const tag = this.tag();
      const wireType = tag & 7;
      if (wireType === WIRE_END_GROUP) {
        if (tag >>> 3 !== open.pop()) throw this.error(field, `end-group tag for field ${tag >>> 3} does not match`, start);
      } else if (wireType === WIRE_START_GROUP) {
        if (open.length >= GROUP_DEPTH_MAX) throw this.error(field, `groups nest deeper than ${GROUP_DEPTH_MAX}`, start);
        open.push(tag >>> 3);
      } else {
        this.skip(tag, field);
      }
    }
  }

  private advance(count: number, field: string, start: number): void {
    if (this.pos + count > this.end) throw this.error(field, `${count} bytes run past the end`, start);
    this.pos += count;
  }

  /** A WireFormatError naming the field (by its path from the message read) and where in the bytes it went wrong. */
  error(field: string, problem: string, at: number, cause?: unknown): WireFormatError {
    let path = this.root;
    for (let i = 0; i < this.depth; i += 1) {
      path += `${path === "" ? "" : "."}${this.pathFields[i]}`;
      const index = this.pathIndexes[i] as number;
      if (index >= 0) path += `[${index}]`;
    }
    const message = `${path === "" ? "" : `${path}.`}${field}: ${problem} (at byte ${at} of ${this.bytes.length})`;
    return cause === undefined ? new WireFormatError(message) : new WireFormatError(message, { cause });
  }
}

/**
 * Builds one message in a buffer it keeps between messages. Nested messages are written in
 * place: begin() reserves one byte for the length, which end() widens if the body outgrew it.
 */
export class WireWriter {
  private buffer = new Uint8Array(1024);
  pos = 0;

  /**
   * loneSurrogates "refuse": text() throws a WireValueError for text that is not well-formed,
   * for a writer whose bytes must read back as the same text (the log); "replace" writes U+FFFD
   * as toBinary (TextEncoder) does.
   */
  constructor(private readonly loneSurrogates: "refuse" | "replace" = "replace") {}

  /** Starts a new message, dropping whatever was written before. */
  reset(): void {
    this.pos = 0;
  }

  /** A copy of the message written since reset(). */
  finish(): Uint8Array {
    return this.buffer.slice(0, this.pos);
  }

  private ensure(count: number): void {
    if (this.pos + count <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.pos + count) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buffer.subarray(0, this.pos));
    this.buffer = grown;
  }

  /** A varint of a non-negative integer below 2^53. */
  varint(value: number): void {
    this.ensure(10);
    const buffer = this.buffer;
    let pos = this.pos;
    if (value < 0x80) {
      buffer[pos] = value;
      this.pos = pos + 1;
      return;
    }
    while (value >= 0x8000_0000) {
      buffer[pos++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    while (value > 0x7f) {
      buffer[pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    buffer[pos++] = value;
    this.pos = pos;
  }

  /** A 64-bit varint of a bigint already checked to be within int64 or uint64. */
  varintBig(value: bigint): void {
    if (value >= 0n && value <= 0x1f_ffff_ffff_ffffn) {
      this.varint(Number(value));
      return;
    }
    const bits = BigInt.asUintN(64, value);
    let lo = Number(bits & 0xffff_ffffn);
    let hi = Number(bits >> 32n);
    this.ensure(10);
    const buffer = this.buffer;
    let pos = this.pos;
    // Seven bits at a time from the 64-bit value held as two 32-bit words.
    while (hi !== 0 || lo > 0x7f) {
      buffer[pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | ((hi & 0x7f) << 25)) >>> 0;
      hi >>>= 7;
    }
    buffer[pos++] = lo;
    this.pos = pos;
  }

  /**
   * A string's UTF-8 bytes after their length. Returns false, having written nothing, for text
   * that is not well-formed (a lone surrogate): UTF-8 would carry it changed, not refuse it.
   */
  string(text: string): boolean {
    const length = text.length;
    // The length prefix, at most 5 bytes, and at most 3 bytes for each UTF-16 unit.
    this.ensure(length * 3 + 10);
    const buffer = this.buffer;
    if (length < 0x80) {
      const start = this.pos + 1;
      let i = 0;
      for (; i < length; i += 1) {
        const code = text.charCodeAt(i);
        if (code >= 0x80) break;
        buffer[start + i] = code;
      }
      if (i === length) {
        buffer[this.pos] = length;
        this.pos = start + length;
        return true;
      }
    }
    if (!text.isWellFormed()) return false;
    // Not ASCII: encode after a length prefix sized for the worst case, then close the gap.
    const prefixBytes = varintSize(length * 3);
    const bodyStart = this.pos + prefixBytes;
    const { written } = utf8Encoder.encodeInto(text, buffer.subarray(bodyStart));
    const actualPrefix = varintSize(written);
    const lengthAt = this.pos;
    if (actualPrefix !== prefixBytes) buffer.copyWithin(lengthAt + actualPrefix, bodyStart, bodyStart + written);
    this.varint(written);
    this.pos = lengthAt + actualPrefix + written;
    return true;
  }

  /** A string field's value as toBinary writes it: TextEncoder's UTF-8, a lone surrogate as U+FFFD (or refused). */
  text(text: string, field: string): void {
    if (this.string(text)) return;
    if (this.loneSurrogates === "refuse") throw new WireValueError(`${field} is not well-formed Unicode`);
    this.string(text.toWellFormed());
  }

  /** A bytes field's value: its length, then the bytes. */
  bytes(value: Uint8Array): void {
    this.varint(value.length);
    this.ensure(value.length);
    this.buffer.set(value, this.pos);
    this.pos += value.length;
  }

  /** An int32 (or enum) value; a negative one takes ten bytes, sign-extended as protobuf writes it. */
  int32(value: number, field: string): void {
    if ((value | 0) !== value) throw new WireValueError(`${field}: ${value} does not fit int32`);
    if (value >= 0) this.varint(value);
    else this.varintBig(BigInt(value));
  }

  uint32(value: number, field: string): void {
    if (value >>> 0 !== value) throw new WireValueError(`${field}: ${value} does not fit uint32`);
    this.varint(value);
  }

  int64(value: bigint, field: string): void {
    // Most values (times, prices, quantities) are small and positive: one conversion, exact
    // below 2^53, and number comparisons, cheaper than comparing bigints.
    const number = Number(value);
    if (number >= 0 && number <= Number.MAX_SAFE_INTEGER) {
      this.varint(number);
      return;
    }
    if (value < INT64_MIN || value > INT64_MAX) throw new WireValueError(`${field}: ${value} does not fit int64`);
    this.varintBig(value);
  }

  uint64(value: bigint, field: string): void {
    const number = Number(value);
    if (number >= 0 && number <= Number.MAX_SAFE_INTEGER) {
      this.varint(number);
      return;
    }
    if (value < 0n || value > UINT64_MAX) throw new WireValueError(`${field}: ${value} does not fit uint64`);
    this.varintBig(value);
  }

  /** Opens a nested message: returns where its length goes, for end(). */
  begin(): number {
    this.ensure(1);
    const at = this.pos;
    this.pos = at + 1;
    return at;
  }

  /** Closes the nested message begun at `at`, writing its length before it. */
  end(at: number): void {
    const length = this.pos - at - 1;
    if (length < 0x80) {
      (this.buffer as Uint8Array)[at] = length;
      return;
    }
    const prefixBytes = varintSize(length);
    this.ensure(prefixBytes - 1);
    this.buffer.copyWithin(at + prefixBytes, at + 1, this.pos);
    this.pos = at;
    this.varint(length);
    this.pos = at + prefixBytes + length;
  }
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    size += 1;
  }
  return size;
}

/**
 * The still-encoded value of whichever of `fieldNumbers` (the members of a oneof, or one
 * singular message field) a message holds, as fromBinary would decode it: the last member given
 * wins, the same member given again merges (its encodings concatenated, which protobuf reads as
 * the merge), other fields are skipped. Null when none is set; a WireFormatError for damage,
 * named from `message`, the message's full name.
 */
export function encodedMemberOf(bytes: Uint8Array, fieldNumbers: readonly number[], message: string): { fieldNumber: number; value: Uint8Array } | null {
  const r = memberReader;
  r.reset(bytes, message);
  let fieldNumber = 0;
  let value: Uint8Array = EMPTY_BYTES;
  while (r.more()) {
    const tag = r.tag();
    const number = tag >>> 3;
    if (!fieldNumbers.includes(number)) {
      r.skip(tag);
      continue;
    }
    if ((tag & 7) !== WIRE_LENGTH_DELIMITED) throw r.wrongWireType(tag, `field ${number}`);
    const part = r.byteString(`field ${number}`);
    value = number === fieldNumber ? concatBytes(value, part) : part;
    fieldNumber = number;
  }
  return fieldNumber === 0 ? null : { fieldNumber, value };
}

const memberReader = new WireReader();
const EMPTY_BYTES = new Uint8Array(0);

function concatBytes(first: Uint8Array, second: Uint8Array): Uint8Array {
  const joined = new Uint8Array(first.length + second.length);
  joined.set(first);
  joined.set(second, first.length);
  return joined;
}
