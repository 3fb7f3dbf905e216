/**
 * Fake Talos PKI with the real shapes. terraform-provider-talos v0.11.0 stores every certificate and key as
 * base64 of its PEM text (`pkg/talos/util.go` secretsBundleTomachineSecrets, `bytesToBase64`); the bundle's
 * fields and formats are Talos machinery's (`pkg/machinery/config/generate/secrets/bundle.go`): tokens are
 * `[a-z0-9]{6}.[a-z0-9]{16}`, the cluster id/secret and the secretbox key are base64 of 32 random bytes; the OS
 * CA key is Ed25519, the Kubernetes, aggregator, etcd and service-account keys are ECDSA.
 *
 * The PEM bodies are random bytes, not parseable certificates: nothing downstream of the stand-ins parses them
 * (the real provider would, to renew the client certificate a month before expiry; not imitated).
 */
import * as crypto from "node:crypto";

export interface CertKey {
  cert: string;
  key: string;
}

/** `talos:machine/generated:MachineSecrets` as the provider outputs it. */
export interface MachineSecrets {
  certs: {
    etcd: CertKey;
    k8s: CertKey;
    k8sAggregator: CertKey;
    k8sServiceaccount: { key: string };
    os: CertKey;
  };
  cluster: { id: string; secret: string };
  secrets: { bootstrapToken: string; secretboxEncryptionSecret: string };
  trustdinfo: { token: string };
}

/** `talos:machine/generated:ClientConfiguration`. */
export interface ClientConfiguration {
  caCertificate: string;
  clientCertificate: string;
  clientKey: string;
}

const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");

/** A PEM block of `type` around random bytes, base64-encoded as the provider stores it. */
export function fakePem(type: string, bytes = 96): string {
  const body = crypto.randomBytes(bytes).toString("base64");
  const lines = body.match(/.{1,64}/g) ?? [];
  return b64(`-----BEGIN ${type}-----\n${lines.join("\n")}\n-----END ${type}-----\n`);
}

function certKey(keyType: string): CertKey {
  return { cert: fakePem("CERTIFICATE", 384), key: fakePem(keyType, 120) };
}

/** Talos's bootstrap/trustd token shape (`secrets.NewBundle` → `genToken(6, 16)`). */
export function talosToken(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  const pick = (n: number) =>
    Array.from(crypto.randomBytes(n))
      .map((x) => alphabet[x % alphabet.length])
      .join("");
  return `${pick(6)}.${pick(16)}`;
}

const random32 = (): string => crypto.randomBytes(32).toString("base64");

/** A new secrets bundle, as `talos_machine_secrets` Create generates one. */
export function newMachineSecrets(): MachineSecrets {
  return {
    certs: {
      etcd: certKey("EC PRIVATE KEY"),
      k8s: certKey("EC PRIVATE KEY"),
      k8sAggregator: certKey("EC PRIVATE KEY"),
      k8sServiceaccount: { key: fakePem("EC PRIVATE KEY", 120) },
      os: certKey("ED25519 PRIVATE KEY"),
    },
    cluster: { id: random32(), secret: random32() },
    secrets: { bootstrapToken: talosToken(), secretboxEncryptionSecret: random32() },
    trustdinfo: { token: talosToken() },
  };
}

/** The admin client credentials signed by the OS CA (`generateClientConfigurationWithTTL`): the CA is the bundle's
 * OS certificate, the client pair is new. */
export function newClientConfiguration(secrets: MachineSecrets): ClientConfiguration {
  return {
    caCertificate: secrets.certs.os.cert,
    clientCertificate: fakePem("CERTIFICATE", 300),
    clientKey: fakePem("ED25519 PRIVATE KEY", 48),
  };
}

/** Decodes one of the provider's base64-of-PEM values back to PEM text. */
export function pemText(base64Pem: string): string {
  return Buffer.from(base64Pem, "base64").toString("utf8");
}
