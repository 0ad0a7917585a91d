// A throwaway certificate authority for one test file, made with openssl at test time: a CA,
// a server certificate for 127.0.0.1 and localhost, and a client certificate, all signed by
// the CA; and a second CA that signed nothing here, to play a stranger. EC P-256: fast to make.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCertificates {
  readonly dir: string;
  readonly caFile: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  /** A certificate and key signed by another CA, which the servers here do not trust. */
  readonly strangerCertFile: string;
  readonly strangerKeyFile: string;
  pem(file: string): string;
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  const run = Bun.spawnSync(["openssl", ...args], { cwd: dir, stdout: "pipe", stderr: "pipe" });
  if (run.exitCode !== 0) throw new Error(`openssl ${args.join(" ")} failed: ${run.stderr.toString()}`);
}

const KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

function selfSignedCa(dir: string, name: string): void {
  openssl(dir, ["req", "-x509", ...KEY, "-keyout", `${name}.key`, "-out", `${name}.pem`, "-days", "1", "-subj", `/CN=${name}`]);
}

function signed(dir: string, name: string, ca: string, extensions: string): void {
  openssl(dir, ["req", ...KEY, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`]);
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(dir, ["x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.pem`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-out", `${name}.pem`, "-days", "1", "-extfile", `${name}.ext`]);
}

export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), "oms-tls-"));
  selfSignedCa(dir, "ca");
  selfSignedCa(dir, "stranger-ca");
  signed(dir, "server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  signed(dir, "client", "ca", "extendedKeyUsage=clientAuth\n");
  signed(dir, "stranger", "stranger-ca", "extendedKeyUsage=clientAuth\n");
  const at = (file: string) => join(dir, file);
  return {
    dir,
    caFile: at("ca.pem"),
    serverCertFile: at("server.pem"),
    serverKeyFile: at("server.key"),
    clientCertFile: at("client.pem"),
    clientKeyFile: at("client.key"),
    strangerCertFile: at("stranger.pem"),
    strangerKeyFile: at("stranger.key"),
    pem: (file) => readFileSync(file, "utf8"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
