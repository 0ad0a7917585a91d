// A configuration mistake is the operator's to fix, so the message names the exact field
// (`nodes[1].shards[3]`) or environment variable at fault and what was wrong with it.

export class ConfigError extends Error {
  override readonly name = "ConfigError";

  constructor(where: string, problem: string) {
    super(`config: ${where}: ${problem}`);
  }
}
