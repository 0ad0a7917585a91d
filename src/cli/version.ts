// `oms --version`: the package's version and, when known, the commit it was built from.
import packageJson from "../../package.json" with { type: "json" };

/** Set by `bun run build` (--define); a run from source asks git instead. */
declare const OMS_COMMIT: string | undefined;

export function versionText(): string {
  const commit = builtCommit() ?? sourceCommit();
  return `oms ${packageJson.version}${commit === null ? "" : ` (commit ${commit})`}`;
}

function builtCommit(): string | null {
  return typeof OMS_COMMIT === "string" && OMS_COMMIT !== "" ? OMS_COMMIT : null;
}

/** The checkout's commit, or null outside a git checkout or without git. */
function sourceCommit(): string | null {
  try {
    const git = Bun.spawnSync(["git", "-C", import.meta.dir, "rev-parse", "--short", "HEAD"], { stdout: "pipe", stderr: "ignore" });
    const commit = git.stdout.toString().trim();
    return git.exitCode === 0 && commit !== "" ? commit : null;
  } catch {
    return null;
  }
}
