// NodeService.ListQuotes answers with the venue's listings, in its order, each with its quote
// as exact decimal dollar strings, as the venue shows it at the moment of the call.
import { expect, test } from "bun:test";
import { formatCash } from "../../src/core/money.ts";
import { listQuotes } from "../../src/node/list-quotes.ts";
import { SimulatedVenue } from "../../src/venue/simulated-venue.ts";
import { dollars } from "../venue/venue-harness.ts";

test("every listed symbol, in listing order, with bid, ask and last as decimal strings", () => {
  const venue = new SimulatedVenue({
    seed: 3,
    symbols: [
      { symbol: "ZZZ", price: dollars(12.5) },
      { symbol: "PENNY", price: dollars(0.5) },
    ],
    now: () => 0,
    manual: true,
  });
  const answer = listQuotes(venue);
  expect(answer.assets.map((asset) => [asset.symbol, asset.tradable])).toEqual([
    ["ZZZ", true],
    ["PENNY", true],
  ]);
  // The first bid is the listing price, the ask one tick above ($0.01, or $0.0001 under $1).
  expect(answer.assets.map((asset) => asset.quote && [asset.quote.bidPrice, asset.quote.askPrice, asset.quote.lastPrice])).toEqual([
    ["12.5", "12.51", "12.5"],
    ["0.5", "0.5001", "0.5"],
  ]);
  // Read at each call: after the market moves, the answer moves with it.
  for (let step = 0; step < 5; step++) venue.tick();
  const now = ["ZZZ", "PENNY"].map((symbol) => venue.quote(symbol));
  expect(now.map((quote) => quote?.bid)).not.toEqual([dollars(12.5), dollars(0.5)]);
  expect(listQuotes(venue).assets.map((asset) => asset.quote?.bidPrice)).toEqual(now.map((quote) => formatCash(quote?.bid ?? -1n)));
  venue.close();
});
