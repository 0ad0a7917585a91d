// CPU used so far by this process's threads, in three groups: the main thread (where the node's
// event loop runs), librdkafka's threads (the Kafka mock broker when a benchmark runs it in this
// process; named "rdk:…"), and every other thread (JIT, garbage collector, workers). Read from
// /proc, so Linux only; elsewhere null.
import { readdirSync, readFileSync } from "node:fs";

export interface ThreadCpu {
  mainS: number;
  brokerS: number;
  otherS: number;
}

/** Linux's clock ticks per second (CLK_TCK) on every common architecture. */
const TICKS_PER_S = 100;

export function threadCpu(): ThreadCpu | null {
  let tids: string[];
  try {
    tids = readdirSync("/proc/self/task");
  } catch {
    return null;
  }
  const cpu: ThreadCpu = { mainS: 0, brokerS: 0, otherS: 0 };
  for (const tid of tids) {
    let stat: string;
    let name: string;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      name = readFileSync(`/proc/self/task/${tid}/comm`, "utf8");
    } catch {
      continue; // the thread ended between listing and reading
    }
    // Fields after the ")" that ends the thread name: utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const seconds = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
    if (tid === String(process.pid)) cpu.mainS += seconds;
    else if (name.startsWith("rdk:")) cpu.brokerS += seconds;
    else cpu.otherS += seconds;
  }
  return cpu;
}

/** "main thread 11.2 µs, Kafka mock broker 0.2 µs, other threads 4.1 µs" per order between two readings. */
export function cpuPerOrderText(before: ThreadCpu | null, after: ThreadCpu | null, orders: number): string | null {
  if (before === null || after === null || orders <= 0) return null;
  const perOrder = (seconds: number) => `${((seconds * 1e6) / orders).toFixed(1)} µs`;
  const parts = [`main thread ${perOrder(after.mainS - before.mainS)}`];
  const brokerS = after.brokerS - before.brokerS;
  if (brokerS > 0 || after.brokerS > 0) parts.push(`Kafka mock broker ${perOrder(brokerS)}`);
  parts.push(`other threads ${perOrder(after.otherS - before.otherS)}`);
  return parts.join(", ");
}
