// The expected hashes come from the FNV-1a definition (offset basis 0x811c9dc5, prime
// 0x01000193, xor then multiply per UTF-8 byte), computed outside this code base; "a" and
// "foobar" are the published FNV test vectors. If this test changes, accounts move shards.
import { expect, test } from "bun:test";
import { fnv1a32, shardOf } from "../../src/config/shard-of.ts";

test("fnv1a32 matches the FNV-1a 32-bit definition", () => {
  expect(fnv1a32("")).toBe(0x811c9dc5);
  expect(fnv1a32("a")).toBe(0xe40c292c);
  expect(fnv1a32("foobar")).toBe(0xbf9cf968);
  expect(fnv1a32("acct-1")).toBe(0x8c421f5c);
  // Multi-byte UTF-8: "é" is hashed as its two bytes 0xc3 0xa9, not as one UTF-16 unit.
  expect(fnv1a32("café")).toBe(0xa82b5049);
});

test("shardOf is the hash modulo the shard count, fixed for ever", () => {
  expect(shardOf("acct-1", 16)).toBe(12);
  expect(shardOf("acct-42", 16)).toBe(3);
  expect(shardOf("ACC-0001", 16)).toBe(2);
  expect(shardOf("café", 16)).toBe(9);
  expect(shardOf("acct-42", 7)).toBe(2);
  expect(shardOf("anything", 1)).toBe(0);
});

test("shardOf refuses a shard count that is not a positive integer", () => {
  expect(() => shardOf("acct-1", 0)).toThrow("shardCount must be a positive integer");
  expect(() => shardOf("acct-1", 2.5)).toThrow("shardCount must be a positive integer");
});
