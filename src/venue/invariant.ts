// The venue's invariants stay checked in production: a venue that fills past an order's
// remaining qty, above its collar or off the price grid would make the OMS misstate cash, so
// it stops loudly instead.

export function invariant(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(`simulated venue invariant broken: ${what}`);
}
