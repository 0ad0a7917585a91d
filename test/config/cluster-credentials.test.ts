// The secret and certificate files the configuration names, read at start: a secret file's
// content (trimmed) is the secret, a short or unreadable one stops the start naming its
// setting, and the node hop's URL and TLS follow cluster.tlsCertFile.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLUSTER_DEFAULTS, type ClusterConfig } from "../../src/config/cluster-config.ts";
import { clusterSecretOf, isMutualTls, nodeHopOf, nodeServerTls, nodeUrlOf } from "../../src/config/cluster-credentials.ts";

const dir = mkdtempSync(join(tmpdir(), "oms-credentials-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function withCluster(cluster: Partial<ClusterConfig["cluster"]>): ClusterConfig {
  return { ...CLUSTER_DEFAULTS, nodes: [], cluster: { ...CLUSTER_DEFAULTS.cluster, ...cluster } };
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

test("the secret comes from cluster.secret or, trimmed, from cluster.secretFile; none is null", () => {
  expect(clusterSecretOf(withCluster({}))).toBeNull();
  expect(clusterSecretOf(withCluster({ secret: "inline-secret-0123456789" }))).toBe("inline-secret-0123456789");
  expect(clusterSecretOf(withCluster({ secretFile: file("secret", "  file-secret-0123456789\n") }))).toBe("file-secret-0123456789");
  expect(() => clusterSecretOf(withCluster({ secretFile: file("short", "abc\n") }))).toThrow("cluster.secretFile");
  expect(() => clusterSecretOf(withCluster({ secretFile: join(dir, "missing") }))).toThrow("cluster.secretFile: cannot read");
});

test("the node hop is https with TLS files, its client certificate makes it mutual, and the secret rides along", () => {
  const pem = file("cert.pem", "PEM");
  const plain = withCluster({ secret: "inline-secret-0123456789" });
  expect(nodeUrlOf(plain, { host: "10.0.0.1", port: 9101 })).toBe("http://10.0.0.1:9101");
  expect(nodeUrlOf(plain, { host: "::1", port: 9101 })).toBe("http://[::1]:9101");
  expect(nodeHopOf(plain)).toEqual({ secret: "inline-secret-0123456789" });
  expect(nodeServerTls(plain)).toBeUndefined();
  const mutual = withCluster({ tlsCaFile: pem, tlsCertFile: pem, tlsKeyFile: pem, tlsClientCertFile: pem, tlsClientKeyFile: pem });
  expect(nodeUrlOf(mutual, { host: "node-a", port: 9101 })).toBe("https://node-a:9101");
  expect(isMutualTls(mutual)).toBe(true);
  expect(nodeHopOf(mutual)).toEqual({ tls: { ca: "PEM", cert: "PEM", key: "PEM" } });
  expect(nodeServerTls(mutual)).toEqual({ cert: "PEM", key: "PEM", clientCa: "PEM" });
  expect(() => nodeServerTls(withCluster({ tlsCaFile: pem, tlsCertFile: join(dir, "gone.pem"), tlsKeyFile: pem }))).toThrow("cluster.tlsCertFile: cannot read");
});
