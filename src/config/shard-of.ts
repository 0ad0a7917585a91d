// Which shard an account lives on. This decides where every account's state and log live,
// so it must never change between releases: changing it would strand every account on the
// wrong node. FNV-1a (32-bit) over the UTF-8 bytes is simple, fast and fixed by its spec.

const FNV_OFFSET_BASIS_32 = 0x811c9dc5;
const FNV_PRIME_32 = 0x01000193;

const utf8 = new TextEncoder();

export function fnv1a32(text: string): number {
  // Account ids are ASCII, whose UTF-8 bytes are their char codes: hash those without
  // allocating an encoded copy on every command.
  let ascii = true;
  for (let i = 0; i < text.length && ascii; i++) ascii = text.charCodeAt(i) < 0x80;
  if (ascii) {
    let hash = FNV_OFFSET_BASIS_32;
    for (let i = 0; i < text.length; i++) {
      hash ^= text.charCodeAt(i);
      hash = Math.imul(hash, FNV_PRIME_32);
    }
    return hash >>> 0;
  }
  let hash = FNV_OFFSET_BASIS_32;
  for (const byte of utf8.encode(text)) {
    hash ^= byte;
    // Math.imul keeps the product in 32 bits exactly; a float multiply would lose bits.
    hash = Math.imul(hash, FNV_PRIME_32);
  }
  return hash >>> 0;
}

export function shardOf(accountId: string, shardCount: number): number {
  if (!Number.isInteger(shardCount) || shardCount < 1) {
    throw new Error(`shardOf: shardCount must be a positive integer, got ${shardCount}`);
  }
  return fnv1a32(accountId) % shardCount;
}
