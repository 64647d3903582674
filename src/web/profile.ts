import { createHash } from 'node:crypto';
import forge from 'node-forge';
import { build as buildPlist } from 'plist';
import type { Scope } from '../store/types.js';
import type { ClientSettings } from './client-settings.js';

export const PROFILE_CONTENT_TYPE = 'application/x-apple-aspen-config';

export interface ProfileInput {
  address: string;
  deviceId: string;
  deviceName: string;
  password: string;
  scopes: readonly Scope[];
  settings: ClientSettings;
  /** The device's expiry: the profile removes itself then. */
  expiresAt: number | null;
}

/** Apple Mail needs an incoming and an outgoing server: a profile exists only for devices with both. */
export function profileAvailable(scopes: readonly Scope[]): boolean {
  return scopes.includes('smtp') && (scopes.includes('imap') || scopes.includes('pop3'));
}

/**
 * A configuration profile with one com.apple.mail.managed payload: IMAP
 * (POP3 when the device lacks imap) and SMTP, the same password for both.
 * The identifiers derive from the host and the device id alone, so a
 * profile made again for the same device replaces the installed one.
 */
export function buildProfile(input: ProfileInput): string {
  const incoming = input.scopes.includes('imap') ? input.settings.imap : input.settings.pop3;
  const outgoing = input.settings.smtp;
  const identifier = `${reverseDns(incoming.host)}.devicepass.device.${input.deviceId}`;
  const mail = {
    PayloadType: 'com.apple.mail.managed',
    PayloadVersion: 1,
    PayloadIdentifier: `${identifier}.mail`,
    PayloadUUID: stableUuid(`${identifier}.mail`),
    PayloadDisplayName: `Mail: ${input.address}`,
    PayloadDescription: `Mail account ${input.address} with the device password "${input.deviceName}"`,
    EmailAccountDescription: input.address,
    EmailAccountType: incoming.protocol === 'imap' ? 'EmailTypeIMAP' : 'EmailTypePOP',
    EmailAddress: input.address,
    IncomingMailServerAuthentication: 'EmailAuthPassword',
    IncomingMailServerHostName: incoming.host,
    IncomingMailServerPortNumber: incoming.port,
    IncomingMailServerUseSSL: incoming.security === 'tls',
    IncomingMailServerUsername: input.address,
    IncomingPassword: input.password,
    OutgoingMailServerAuthentication: 'EmailAuthPassword',
    OutgoingMailServerHostName: outgoing.host,
    OutgoingMailServerPortNumber: outgoing.port,
    OutgoingMailServerUseSSL: outgoing.security === 'tls',
    OutgoingMailServerUsername: input.address,
    OutgoingPassword: input.password,
    OutgoingPasswordSameAsIncomingPassword: true,
    PreventMove: false,
    SMIMEEnabled: false,
  };
  const profile: Record<string, unknown> = {
    PayloadType: 'Configuration',
    PayloadVersion: 1,
    PayloadIdentifier: identifier,
    PayloadUUID: stableUuid(identifier),
    PayloadDisplayName: `${input.address} (${input.deviceName})`,
    PayloadDescription: `Sets up Mail for ${input.address}. The password in it belongs to this device only.`,
    PayloadRemovalDisallowed: false,
    PayloadContent: [mail],
  };
  if (input.expiresAt !== null) profile.RemovalDate = new Date(input.expiresAt);
  return buildPlist(profile as Parameters<typeof buildPlist>[0]);
}

/** A UUID derived from a name (SHA-256, shaped as RFC 9562 version 8). */
function stableUuid(name: string): string {
  const bytes = createHash('sha256').update(name).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex').toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function reverseDns(host: string): string {
  const labels = host.toLowerCase().split('.').filter((l) => /^[a-z0-9-]+$/.test(l));
  return labels.length === 0 ? 'devicepass' : labels.reverse().join('.');
}

/**
 * Signs profiles as CMS SignedData (what iOS shows as "Verified"): SHA-256,
 * the signing certificate and any chain certificates from the same PEM file
 * embedded. node-forge signs with RSA keys only, so an EC key is refused at start.
 */
export class ProfileSigner {
  readonly #certs: forge.pki.Certificate[];
  readonly #key: forge.pki.rsa.PrivateKey;

  constructor(certPem: string, keyPem: string) {
    const blocks = certPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length === 0) throw new Error('[web] profile_signing_cert holds no PEM certificate');
    this.#certs = blocks.map((block) => forge.pki.certificateFromPem(block));
    try {
      this.#key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
    } catch {
      throw new Error('[web] profile_signing_key must be an RSA private key in PEM');
    }
    const publicKey = this.#certs[0]!.publicKey as forge.pki.rsa.PublicKey;
    if (typeof publicKey.n?.compareTo !== 'function' || publicKey.n.compareTo(this.#key.n) !== 0) {
      throw new Error('[web] profile_signing_key does not belong to the first certificate of profile_signing_cert');
    }
  }

  sign(profile: string): Buffer {
    const signed = forge.pkcs7.createSignedData();
    signed.content = forge.util.createBuffer(profile, 'utf8');
    for (const cert of this.#certs) signed.addCertificate(cert);
    signed.addSigner({
      key: this.#key,
      certificate: this.#certs[0]!,
      digestAlgorithm: forge.pki.oids.sha256!,
      authenticatedAttributes: [
        { type: forge.pki.oids.contentType!, value: forge.pki.oids.data! },
        { type: forge.pki.oids.messageDigest! },
        { type: forge.pki.oids.signingTime!, value: new Date() as unknown as string },
      ],
    });
    signed.sign();
    return Buffer.from(forge.asn1.toDer(signed.toAsn1()).getBytes(), 'binary');
  }
}
