// Reading a Prometheus text exposition in tests: a series' value by its exact name and labels.

/** The value of `series` (e.g. `oms_shard_owned{shard="0"}`), or undefined if the text has no such line. */
export function sampleOf(text: string, series: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

/** The families (from their # TYPE lines) in the text. */
export function familiesOf(text: string): Set<string> {
  const families = new Set<string>();
  for (const line of text.split("\n")) {
    const match = /^# TYPE (\S+) /.exec(line);
    if (match?.[1] !== undefined) families.add(match[1]);
  }
  return families;
}

export async function scrape(url: string): Promise<{ status: number; contentType: string | null; text: string }> {
  const response = await fetch(`${url}/metrics`);
  return { status: response.status, contentType: response.headers.get("content-type"), text: await response.text() };
}
