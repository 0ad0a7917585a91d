// `bun run test:fast` and `bun run test:process` split the suite in two: every test file is in
// exactly one tier, and every name in the fast tier's list still names a file. The fast
// tier's filters (bun test's substring match) and the process tier's ignore glob are the same
// list written twice in package.json; this keeps them from drifting apart.
import { expect, test } from "bun:test";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "../..");

test("the fast and process tiers partition the test files", async () => {
  const scripts = (await Bun.file(join(ROOT, "package.json")).json()).scripts as Record<string, string>;
  const fastFilters = (scripts["test:fast"] ?? "").split(" ").slice(2);
  const ignored = /^bun test --path-ignore-patterns='\{(.*)\}'$/.exec(scripts["test:process"] ?? "")?.[1]?.split(",") ?? [];
  expect(ignored).toEqual(fastFilters.map((filter) => (filter.endsWith("/") ? `${filter}**` : `${filter}*`)));
  const files = [...new Bun.Glob("test/**/*.test.ts").scanSync({ cwd: ROOT })].sort();
  const fast = files.filter((file) => fastFilters.some((filter) => file.includes(filter)));
  const processTier = files.filter((file) => !ignored.some((pattern) => new Bun.Glob(pattern).match(file)));
  expect(fast.filter((file) => processTier.includes(file))).toEqual([]);
  expect(files.filter((file) => !fast.includes(file) && !processTier.includes(file))).toEqual([]);
  expect(fastFilters.filter((filter) => !files.some((file) => file.includes(filter)))).toEqual([]);
  expect(fast).toContain("test/cli/command-line.test.ts");
  expect(processTier).toContain("test/cli/oms-command.test.ts");
});
