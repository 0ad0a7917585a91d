import type { Figure } from "./report.ts";

/** One benchmark level: runs on its own and returns its figures. */
export interface BenchLevel {
  name: string;
  /** A rough bound on how long it runs, for the whole suite's budget (~5 minutes). */
  budgetSeconds: number;
  run(log: (line: string) => void): Promise<Figure[]>;
}
