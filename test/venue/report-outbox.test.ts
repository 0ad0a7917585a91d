// The venue thread's outbox: reports leave in venue order, at most REPORTS_PER_MESSAGE_MAX a
// message, and after a full message nothing more leaves until the node asks.
import { describe, expect, test } from "bun:test";
import { ReportOutbox } from "../../src/venue/report-outbox.ts";
import type { VenueReport } from "../../src/venue/venue.ts";
import { REPORTS_PER_MESSAGE_MAX, type ReportCause } from "../../src/venue/venue-thread-messages.ts";

function expiries(from: number, count: number): VenueReport[] {
  return Array.from({ length: count }, (_, index) => ({ accountId: "a", orderId: `o${from + index}`, execution: { kind: "expired" }, atMs: 0 }));
}

function outbox(): { box: ReportOutbox; sent: [ReportCause, string[]][] } {
  const sent: [ReportCause, string[]][] = [];
  const box = new ReportOutbox((cause, reports) => sent.push([cause, reports.map((report) => report.orderId)]));
  return { box, sent };
}

const ids = (from: number, count: number) => expiries(from, count).map((report) => report.orderId);

describe("ReportOutbox", () => {
  test("a turn's reports within the bound leave at once, in one message", () => {
    const { box, sent } = outbox();
    box.add("tick", expiries(0, 3));
    box.add("calls", expiries(3, 2));
    expect(sent).toEqual([["tick", ids(0, 3)], ["calls", ids(3, 2)]]);
  });

  test("a session close of many leaves a full message at a time, the next when the node asks, in order", () => {
    const max = REPORTS_PER_MESSAGE_MAX;
    const { box, sent } = outbox();
    box.add("session", expiries(0, 2 * max + 5));
    expect(sent).toEqual([["session", ids(0, max)]]);
    // What happens meanwhile waits behind it; quiet ticks (quotes only) wait as one.
    box.add("tick", []);
    box.add("tick", []);
    box.add("calls", expiries(1000, 1));
    expect(sent).toHaveLength(1);
    box.more();
    expect(sent.at(-1)).toEqual(["session", ids(max, max)]);
    expect(sent).toHaveLength(2);
    box.more();
    expect(sent.slice(2)).toEqual([["session", ids(2 * max, 5)], ["tick", []], ["calls", ids(1000, 1)]]);
  });

  test("a message of exactly the bound waits for the node too, then nothing is left to send", () => {
    const { box, sent } = outbox();
    box.add("tick", expiries(0, REPORTS_PER_MESSAGE_MAX));
    box.add("tick", expiries(100, 1));
    expect(sent).toHaveLength(1);
    box.more();
    expect(sent.at(-1)).toEqual(["tick", ids(100, 1)]);
    box.more();
    expect(sent).toHaveLength(2);
  });
});
