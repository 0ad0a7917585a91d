// A Kafka-protocol broker for development and tests: librdkafka's mock cluster (Confluent's,
// shipped in Debian's librdkafka1), driven through bun:ffi, because no Kafka or Redpanda can be
// installed where oms is built. The brokers listen on 127.0.0.1 inside this process, on threads
// of librdkafka's own; stop() joins them, so a process that stops its cluster exits cleanly.
//
// Known limits of the mock (librdkafka 2.0.2): no CreateTopics request (create topics here), no
// read_committed filtering, a Metadata controller id that kafkajs's idempotent producer rejects,
// and each partition keeps only its newest ~5 MiB or ~100,000 records.
import { dlopen, FFIType, type Pointer } from "bun:ffi";

/** Where Debian and most distributions put librdkafka; the bare soname last, for ld.so's own search. */
const LIBRARY_PATHS = [
  "/usr/lib/x86_64-linux-gnu/librdkafka.so.1",
  "/usr/lib/aarch64-linux-gnu/librdkafka.so.1",
  "/usr/lib64/librdkafka.so.1",
  "/usr/lib/librdkafka.so.1",
  "/usr/local/lib/librdkafka.so.1",
  "librdkafka.so.1",
] as const;

const RD_KAFKA_PRODUCER = 0;
const RD_KAFKA_CONF_OK = 0;
const ERRSTR_BYTES = 512;
/** librdkafka takes a broker count as an int; more than this is a typo, not a test setup. */
const BROKERS_MAX = 64;
/** A topic in a test or on a laptop; each mock partition holds up to ~5 MiB in memory. */
const PARTITIONS_MAX = 1024;
/** Kafka ApiKeys are int16 on the wire. */
const API_KEY_MAX = 0x7fff;

const SYMBOLS = {
  rd_kafka_conf_new: { args: [], returns: FFIType.ptr },
  rd_kafka_conf_set: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.i32 },
  rd_kafka_conf_destroy: { args: [FFIType.ptr], returns: FFIType.void },
  rd_kafka_new: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.ptr },
  rd_kafka_destroy: { args: [FFIType.ptr], returns: FFIType.void },
  rd_kafka_err2name: { args: [FFIType.i32], returns: FFIType.cstring },
  rd_kafka_mock_cluster_new: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.ptr },
  rd_kafka_mock_cluster_bootstraps: { args: [FFIType.ptr], returns: FFIType.cstring },
  rd_kafka_mock_cluster_destroy: { args: [FFIType.ptr], returns: FFIType.void },
  rd_kafka_mock_topic_create: { args: [FFIType.ptr, FFIType.ptr, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  rd_kafka_mock_broker_set_down: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  rd_kafka_mock_broker_set_up: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  rd_kafka_mock_broker_set_rtt: { args: [FFIType.ptr, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  rd_kafka_mock_push_request_errors_array: {
    args: [FFIType.ptr, FFIType.i16, FFIType.u64, FFIType.ptr],
    returns: FFIType.void,
  },
  rd_kafka_mock_clear_request_errors: { args: [FFIType.ptr, FFIType.i16], returns: FFIType.void },
} as const;

type Librdkafka = ReturnType<typeof dlopen<typeof SYMBOLS>>["symbols"];

let loaded: Librdkafka | undefined;

function librdkafka(): Librdkafka {
  if (loaded !== undefined) return loaded;
  const failures: string[] = [];
  for (const path of LIBRARY_PATHS) {
    try {
      loaded = dlopen(path, SYMBOLS).symbols;
      return loaded;
    } catch (error) {
      failures.push(`${path}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new Error(
    `cannot load librdkafka for the Kafka mock cluster; install it with \`apt-get install librdkafka1\`\n  ${failures.join("\n  ")}`,
  );
}

/** A NUL-terminated copy of `text` for C; the caller keeps the buffer referenced for the call. */
function cString(text: string): Buffer {
  if (text.includes("\0")) throw new Error(`a NUL byte cannot be passed to C: ${JSON.stringify(text)}`);
  return Buffer.from(`${text}\0`, "utf8");
}

function errorText(errstr: Buffer): string {
  const end = errstr.indexOf(0);
  return errstr.toString("utf8", 0, end < 0 ? errstr.length : end);
}

function errorName(lib: Librdkafka, code: number): string {
  return String(lib.rd_kafka_err2name(code) ?? `error ${code}`);
}

function assertInt32(value: number, what: string): void {
  if (!Number.isInteger(value) || value < -0x8000_0000 || value > 0x7fff_ffff) {
    throw new Error(`${what}: must be a 32-bit integer, got ${value}`);
  }
}

function assertApiKey(apiKey: number): void {
  if (!Number.isInteger(apiKey) || apiKey < 0 || apiKey > API_KEY_MAX) {
    throw new Error(`apiKey: must be a Kafka ApiKey 0..${API_KEY_MAX}, got ${apiKey}`);
  }
}

/** Creates the rd_kafka_t the mock cluster needs for its book-keeping; it never connects anywhere. */
function newHandle(lib: Librdkafka): Pointer {
  const conf = lib.rd_kafka_conf_new();
  if (conf === null) throw new Error("rd_kafka_conf_new returned NULL");
  const errstr = Buffer.alloc(ERRSTR_BYTES);
  // The handle has no bootstrap.servers on purpose; below warning level librdkafka would say so.
  const settings: [string, string][] = [
    ["client.id", "oms-kafka-mock"],
    ["log_level", "4"],
  ];
  for (const [name, value] of settings) {
    const nameC = cString(name);
    const valueC = cString(value);
    if (lib.rd_kafka_conf_set(conf, nameC, valueC, errstr, ERRSTR_BYTES) !== RD_KAFKA_CONF_OK) {
      lib.rd_kafka_conf_destroy(conf);
      throw new Error(`rd_kafka_conf_set ${name}=${value}: ${errorText(errstr)}`);
    }
  }
  // On success rd_kafka_new owns conf; on failure it is still ours to free.
  const rk = lib.rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, ERRSTR_BYTES);
  if (rk === null) {
    lib.rd_kafka_conf_destroy(conf);
    throw new Error(`rd_kafka_new: ${errorText(errstr)}`);
  }
  return rk as Pointer;
}

export interface KafkaMockClusterOptions {
  /** How many brokers, ids 1..brokers; 1 if not given. */
  brokers?: number;
}

export class KafkaMockCluster {
  /** "127.0.0.1:PORT,127.0.0.1:PORT,…", one per broker, broker 1 first. */
  readonly bootstrapServers: string;
  /** The broker count; ids are 1..brokers. */
  readonly brokers: number;
  readonly #lib: Librdkafka;
  readonly #rk: Pointer;
  #mcluster: Pointer | null;

  private constructor(lib: Librdkafka, rk: Pointer, mcluster: Pointer, brokers: number, bootstrapServers: string) {
    this.bootstrapServers = bootstrapServers;
    this.brokers = brokers;
    this.#lib = lib;
    this.#rk = rk;
    this.#mcluster = mcluster;
  }

  static start(options: KafkaMockClusterOptions = {}): KafkaMockCluster {
    const brokers = options.brokers ?? 1;
    if (!Number.isInteger(brokers) || brokers < 1 || brokers > BROKERS_MAX) {
      throw new Error(`brokers: must be 1..${BROKERS_MAX}, got ${brokers}`);
    }
    const lib = librdkafka();
    const rk = newHandle(lib);
    const mcluster = lib.rd_kafka_mock_cluster_new(rk, brokers);
    if (mcluster === null) {
      lib.rd_kafka_destroy(rk);
      throw new Error(`rd_kafka_mock_cluster_new(${brokers}) failed (see librdkafka's log above)`);
    }
    // Copied into a JS string now: the C string belongs to the cluster and dies with it.
    const bootstraps = lib.rd_kafka_mock_cluster_bootstraps(mcluster);
    if (bootstraps === null || bootstraps === "") {
      lib.rd_kafka_mock_cluster_destroy(mcluster);
      lib.rd_kafka_destroy(rk);
      throw new Error("rd_kafka_mock_cluster_bootstraps returned nothing");
    }
    return new KafkaMockCluster(lib, rk, mcluster as Pointer, brokers, String(bootstraps));
  }

  /** Creates a topic; throws with librdkafka's error name (e.g. TOPIC_ALREADY_EXISTS) if it cannot. */
  createTopic(name: string, partitions: number, replicationFactor = 1): void {
    const what = `createTopic(${JSON.stringify(name)}, ${partitions}, ${replicationFactor})`;
    const mcluster = this.#running();
    // The mock accepts a topic of 0 partitions and any replication factor (it places replicas
    // on every broker); refuse what a real broker refuses, with the error it would give.
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > PARTITIONS_MAX) {
      throw new Error(`${what}: INVALID_PARTITIONS (37): partitions must be 1..${PARTITIONS_MAX}`);
    }
    if (!Number.isInteger(replicationFactor) || replicationFactor < 1 || replicationFactor > this.brokers) {
      throw new Error(`${what}: INVALID_REPLICATION_FACTOR (38): must be 1..${this.brokers} (the broker count)`);
    }
    const nameC = cString(name);
    const code = this.#lib.rd_kafka_mock_topic_create(mcluster, nameC, partitions, replicationFactor);
    this.#check(code, what);
  }

  /** Disconnects the broker's clients and refuses new connections; leadership does not move. */
  brokerDown(id: number): void {
    assertInt32(id, "broker id");
    this.#check(this.#lib.rd_kafka_mock_broker_set_down(this.#running(), id), `brokerDown(${id})`);
  }

  brokerUp(id: number): void {
    assertInt32(id, "broker id");
    this.#check(this.#lib.rd_kafka_mock_broker_set_up(this.#running(), id), `brokerUp(${id})`);
  }

  /** Delays every response of the broker by `ms`. */
  setRtt(id: number, ms: number): void {
    assertInt32(id, "broker id");
    assertInt32(ms, "rtt ms");
    if (ms < 0) throw new Error(`rtt ms: must be >= 0, got ${ms}`);
    this.#check(this.#lib.rd_kafka_mock_broker_set_rtt(this.#running(), id, ms), `setRtt(${id}, ${ms})`);
  }

  /**
   * The next requests with this ApiKey (0 = Produce, 1 = Fetch, 3 = Metadata, …), on any broker,
   * fail with these Kafka error codes, one request per code, in order; -195 (_TRANSPORT) disconnects.
   */
  pushRequestErrors(apiKey: number, errorCodes: number[]): void {
    assertApiKey(apiKey);
    for (const code of errorCodes) assertInt32(code, "error code");
    if (errorCodes.length === 0) return;
    const mcluster = this.#running();
    // librdkafka copies the array during the call; `errors` stays referenced until it returns.
    const errors = Int32Array.from(errorCodes);
    this.#lib.rd_kafka_mock_push_request_errors_array(mcluster, apiKey, errors.length, errors);
  }

  clearRequestErrors(apiKey: number): void {
    assertApiKey(apiKey);
    this.#lib.rd_kafka_mock_clear_request_errors(this.#running(), apiKey);
  }

  /** Closes every listener and joins librdkafka's threads. A second call does nothing. */
  stop(): void {
    if (this.#mcluster === null) return;
    const mcluster = this.#mcluster;
    this.#mcluster = null;
    this.#lib.rd_kafka_mock_cluster_destroy(mcluster);
    this.#lib.rd_kafka_destroy(this.#rk);
  }

  #running(): Pointer {
    if (this.#mcluster === null) throw new Error("KafkaMockCluster is stopped");
    return this.#mcluster;
  }

  #check(code: number, what: string): void {
    if (code !== 0) throw new Error(`${what}: ${errorName(this.#lib, code)} (${code})`);
  }
}
