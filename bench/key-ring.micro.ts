// `bun bench/key-ring.micro.ts`: what a request's key check costs at the balancer: the gate's
// whole admission (headers → credentials → verified key → connection counted → rate token), for a key that verified
// before (SHA-256 + timingSafeEqual), against the first verification of a key (argon2id at
// SECRET_HASH's settings), which is paid once per key per balancer. CPU time per call, the
// fastest of several passes (the cores are shared: wall time counts other processes' turns).
import { EventEmitter } from "node:events";
import { CallGate } from "../src/auth/call-gate.ts";
import { nodeHeaderLookup } from "../src/auth/credentials.ts";
import { KeyLimits } from "../src/auth/key-limits.ts";
import { KeyRing } from "../src/auth/key-ring.ts";
import { CLUSTER_DEFAULTS } from "../src/config/cluster-config.ts";
import { ADMIN, issueTestKey, keyHeaders, MemoryKeyStore } from "../test/support/api-keys.ts";

const CALLS = 200_000;
const PASSES = 7;
const FIRST_VERIFICATIONS = 5;

function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

const store = new MemoryKeyStore();
const bearer = await issueTestKey(store, ADMIN);
const ring = new KeyRing(store);
await ring.refresh();
// The admin scope's bucket is far above CALLS: every call is admitted.
const gate = new CallGate(ring, new KeyLimits(CLUSTER_DEFAULTS.auth));
const headers = nodeHeaderLookup(keyHeaders(bearer));
// The calls arrive on one connection, as a client's do: after the first, a Set lookup.
const connection = new EventEmitter();
const first = await gate.admit(headers, connection);
if (first instanceof Error) throw first;

let best = Number.POSITIVE_INFINITY;
for (let pass = 0; pass < PASSES; pass++) {
  const started = cpuMicros();
  for (let i = 0; i < CALLS; i++) {
    const admitted = gate.admit(headers, connection);
    if (admitted instanceof Promise || admitted instanceof Error) throw new Error("a verified key took the slow path");
  }
  best = Math.min(best, (cpuMicros() - started) / CALLS);
}

let firstBest = Number.POSITIVE_INFINITY;
for (let i = 0; i < FIRST_VERIFICATIONS; i++) {
  const fresh = new KeyRing(store);
  await fresh.refresh();
  const [keyId, secret] = bearer.split(":") as [string, string];
  const started = cpuMicros();
  const caller = await fresh.authenticate({ keyId, secret });
  if (caller instanceof Error) throw caller;
  firstBest = Math.min(firstBest, cpuMicros() - started);
}

console.log(`verified key, whole admission: ${best.toFixed(2)} µs CPU per call (best of ${PASSES} passes of ${CALLS})`);
console.log(`first verification (argon2id): ${(firstBest / 1000).toFixed(1)} ms CPU (best of ${FIRST_VERIFICATIONS})`);
