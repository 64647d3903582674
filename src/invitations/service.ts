import { createHash, randomBytes } from 'node:crypto';
import { requireAddress } from '../credentials/address.js';
import type { CredentialAdmin, DeviceView } from '../credentials/admin.js';
import { DevicepassError } from '../errors/catalogue.js';
import type { AdminStore, InvitationRecords } from '../store/driver.js';
import type { InvitationRow } from '../store/invitations.js';
import type { Scope } from '../store/types.js';

/** 32 random bytes: 256 bits, 43 characters of base64url in the link. */
const TOKEN_BYTES = 32;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;
export const DEFAULT_INVITATION_DAYS = 30;
const MAX_INVITATION_DAYS = 365;
const DAY_MS = 86_400_000;

export type InvitationStatus = 'open' | 'used' | 'expired' | 'revoked';

/** An invitation as administrators see it: never the token. */
export interface InvitationView {
  id: string;
  address: string;
  name: string | null;
  user: string | null;
  scopes: Scope[];
  deviceExpires: string | null;
  state: InvitationStatus;
  created: string;
  createdBy: string | null;
  expires: string;
  used: string | null;
  usedFrom: string | null;
  device: string | null;
}

export interface InviteOptions {
  name?: unknown;
  user?: unknown;
  scopes?: unknown;
  /** The device's expiry (7d, ISO date). */
  expires?: unknown;
  /** How long the link stays valid, in days. */
  days?: unknown;
}

/** What a link stands for when someone opens it. */
export type Lookup =
  | { status: 'open'; invitation: InvitationRow }
  | { status: Exclude<InvitationStatus, 'open'>; invitation: InvitationRow }
  | { status: 'unknown' };

export interface Redemption {
  device: DeviceView & { password: string };
  invitation: InvitationRow;
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/**
 * Invitations: a one-time link with which the owner of an address creates
 * one device password themselves, so the password never passes through the
 * administrator. The token lives only in the link; the store keeps its hash.
 */
export class InvitationService {
  readonly #store: Pick<AdminStore, 'findAddress'>;
  readonly #invitations: InvitationRecords;
  readonly #admin: CredentialAdmin;
  readonly #publicUrl: string;
  readonly #now: () => number;

  constructor(deps: { store: Pick<AdminStore, 'findAddress'>; invitations: InvitationRecords; admin: CredentialAdmin; publicUrl: string; now?: () => number }) {
    this.#store = deps.store;
    this.#invitations = deps.invitations;
    this.#admin = deps.admin;
    this.#publicUrl = deps.publicUrl.replace(/\/+$/, '');
    this.#now = deps.now ?? Date.now;
  }

  async create(input: unknown, options: InviteOptions, actor: string): Promise<InvitationView & { url: string }> {
    const { id: addressId } = await this.#address(input);
    const checked = this.#admin.checkDeviceOptions({ name: options.name, user: options.user, scopes: options.scopes, expires: options.expires });
    const days = options.days === undefined || options.days === null || options.days === '' ? DEFAULT_INVITATION_DAYS : Number(options.days);
    if (!Number.isInteger(days) || days < 1 || days > MAX_INVITATION_DAYS) {
      throw new DevicepassError('REQUEST_INVALID', `--days must be a whole number from 1 to ${MAX_INVITATION_DAYS}`);
    }
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    const row = await this.#invitations.create({
      addressId, tokenHash: hashToken(token), name: checked.name ?? '', user: checked.user, scopes: checked.scopes,
      deviceExpires: typeof options.expires === 'string' && options.expires !== '' ? options.expires : null,
      expiresAt: this.#now() + days * DAY_MS, actor,
    });
    return { ...this.#view(row), url: `${this.#publicUrl}/invite/${token}` };
  }

  async list(input: unknown): Promise<InvitationView[]> {
    return (await this.#invitations.list((await this.#address(input)).id)).map((row) => this.#view(row));
  }

  async revoke(input: unknown, ref: unknown, actor: string): Promise<InvitationView> {
    const { id: addressId } = await this.#address(input);
    const text = typeof ref === 'number' ? String(ref) : typeof ref === 'string' ? ref.trim() : '';
    const row = /^\d{1,15}$/.test(text) ? await this.#invitations.byId(addressId, Number(text)) : undefined;
    if (!row) throw new DevicepassError('INVITE_UNKNOWN', `no invitation ${JSON.stringify(text.slice(0, 40))} for this address`);
    const status = this.#status(row);
    if (status !== 'open' || !(await this.#invitations.revoke(addressId, row.id, actor))) {
      throw new DevicepassError('INVITE_CLOSED', `invitation ${row.id} is ${status}, not open`);
    }
    return this.#view((await this.#invitations.byId(addressId, row.id))!);
  }

  /** Voids the address's open invitations; for when all its devices are revoked. */
  async revokeOpen(input: unknown, actor: string, reason: string): Promise<number> {
    const row = await this.#store.findAddress(requireAddress(input));
    return row ? this.#invitations.revokeOpen(row.id, actor, reason) : 0;
  }

  /** What a token stands for. A token of the wrong shape is unknown without touching the store. */
  async lookup(token: string): Promise<Lookup> {
    if (!TOKEN_SHAPE.test(token)) return { status: 'unknown' };
    const invitation = await this.#invitations.byTokenHash(hashToken(token));
    if (!invitation) return { status: 'unknown' };
    return { status: this.#status(invitation), invitation } as Lookup;
  }

  /**
   * Creates the invitation's device: the link is claimed first, so only one
   * device ever comes of it; a refused name or password gives the claim back.
   */
  async redeem(token: string, input: { name: unknown; password?: unknown; ip: string }): Promise<Redemption> {
    const found = await this.lookup(token);
    if (found.status !== 'open') throw new DevicepassError('INVITE_CLOSED');
    const invitation = found.invitation;
    if (!(await this.#invitations.claim(invitation.id, input.ip))) throw new DevicepassError('INVITE_CLOSED');
    let device: DeviceView & { password: string };
    try {
      device = await this.#admin.addDevice(invitation.address, {
        name: input.name, user: invitation.user, scopes: invitation.scopes, expires: invitation.deviceExpires, password: input.password,
        origin: input.ip,
      }, `invite:${invitation.id}`);
    } catch (err) {
      await this.#invitations.release(invitation.id);
      throw err;
    }
    await this.#invitations.completed(invitation.id, Number(device.id), device.name);
    return { device, invitation };
  }

  #status(row: InvitationRow): InvitationStatus {
    if (row.state === 'open' && row.expiresAt <= this.#now()) return 'expired';
    return row.state;
  }

  async #address(input: unknown) {
    const address = requireAddress(input);
    const row = await this.#store.findAddress(address);
    if (!row) throw new DevicepassError('ADDRESS_UNKNOWN', `no such address: ${address} (add it with "devicepass address add")`);
    return row;
  }

  #view(row: InvitationRow): InvitationView {
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return {
      id: String(row.id), address: row.address, name: row.name === '' ? null : row.name, user: row.user, scopes: row.scopes,
      deviceExpires: row.deviceExpires, state: this.#status(row), created: iso(row.createdAt)!, createdBy: row.createdBy,
      expires: iso(row.expiresAt)!, used: iso(row.usedAt), usedFrom: row.usedIp, device: row.deviceId === null ? null : String(row.deviceId),
    };
  }
}
