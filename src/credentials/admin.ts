import { randomBytes } from 'node:crypto';
import { parseDuration } from '../config/duration.js';
import { DevicepassError } from '../errors/catalogue.js';
import type { SessionRegistry } from '../sessions/registry.js';
import type { AdminStore } from '../store/driver.js';
import { SCOPES, type DeviceRow, type ImportOutcome, type Scope, type StoredEvent } from '../store/types.js';
import { requireAddress, validText } from './address.js';
import { computeDigest, formatParams, SALT_BYTES, type HashParams } from './digest.js';
import { parsePasswdFileInSlices } from './passwd-file.js';
import { CHOSEN_MINIMUM, generatePassword, MAX_PASSWORD_BYTES, normalizeDevicePassword, passwordLength } from './password.js';
import { LegacyHashError, parseLegacyHash } from './schemes/registry.js';

/** A device as administrators see it: never a password, never a digest. */
export interface DeviceView {
  id: string;
  name: string;
  kind: 'device' | 'generic';
  user: string | null;
  scopes: Scope[];
  state: 'active' | 'revoked';
  created: string;
  createdBy: string | null;
  expires: string | null;
  revoked: string | null;
  lastUsed: { at: string; protocol: string; ip: string; client: string | null } | null;
}

export interface NewDeviceOptions {
  name: unknown;
  user?: unknown;
  scopes?: unknown;
  expires?: unknown;
  /** A chosen password; absent = generate one. */
  password?: unknown;
  /** The network the request came from, when not the administrator's (a setup page). */
  origin?: string;
}

/** A device added, reset or revoked: what new-device notices are told. Never a password. */
export interface DeviceChange {
  type: 'added' | 'reset' | 'revoked';
  address: string;
  device: DeviceView;
  actor: string;
  origin: string | null;
  at: number;
}

/** The longest stretch of import work between two turns of the event loop. */
const IMPORT_SLICE_MS = 5;

/** Maps `items` through `each` in slices of at most IMPORT_SLICE_MS, yielding to the event loop in between. */
async function inSlices<T, R>(items: readonly T[], each: (item: T) => R | Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let deadline = performance.now() + IMPORT_SLICE_MS;
  for (let i = 0; i < items.length; i++) {
    const result = each(items[i]!);
    results.push(result instanceof Promise ? await result : result);
    // one item can cost 0.2 ms (an import line): the clock is read after each
    if (performance.now() > deadline) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      deadline = performance.now() + IMPORT_SLICE_MS;
    }
  }
  return results;
}
const DEFAULT_SCOPES: Scope[] = ['imap', 'smtp'];

/**
 * Administrative changes: validation, password generation and hashing here;
 * each change is then one durable store transaction, after which the live
 * sessions of a revoked or reset credential are cut. The store's revocation
 * journal carries the same cut to other processes.
 */
export class CredentialAdmin {
  readonly #store: AdminStore;
  readonly #registry: SessionRegistry;
  readonly #params: HashParams;
  readonly #now: () => number;
  readonly #listeners: Array<(change: DeviceChange) => void> = [];

  constructor(store: AdminStore, registry: SessionRegistry, params: HashParams, now: () => number = Date.now) {
    this.#store = store;
    this.#registry = registry;
    this.#params = params;
    this.#now = now;
  }

  /** Called after each committed device change; a listener must not block (it queues its work). */
  onDeviceChange(listener: (change: DeviceChange) => void): void {
    this.#listeners.push(listener);
  }

  async addAddress(input: unknown, actor: string): Promise<{ address: string }> {
    const address = requireAddress(input);
    if (await this.#store.findAddress(address)) throw new DevicepassError('ADDRESS_EXISTS', `${address} already exists`);
    await this.#store.addAddress(address, randomBytes(SALT_BYTES), actor);
    return { address };
  }

  async listAddresses(): Promise<Array<{ address: string; devices: number; generic: boolean; created: string }>> {
    return (await this.#store.listAddresses()).map((a) => ({ address: a.address, devices: a.devices, generic: a.generic, created: iso(a.createdAt) }));
  }

  async removeAddress(input: unknown, confirmed: boolean, actor: string): Promise<{ address: string; sessionsClosed: number }> {
    const { address, id } = await this.#address(input);
    if (!confirmed) throw new DevicepassError('CONFIRMATION_REQUIRED', `removing ${address} deletes all its passwords; repeat with --yes`);
    await this.#store.removeAddress(id, actor);
    return { address, sessionsClosed: this.#registry.closeAddress(address, 'address-removed') };
  }

  async addDevice(input: unknown, options: NewDeviceOptions, actor: string): Promise<DeviceView & { password: string }> {
    const { id: addressId, salt, address } = await this.#address(input);
    if (!validText(options.name)) throw new DevicepassError('NAME_INVALID');
    if (options.user !== undefined && options.user !== null && !validText(options.user)) throw new DevicepassError('USER_INVALID');
    const scopes = parseScopes(options.scopes);
    const expiresAt = this.#parseExpiry(options.expires);
    const { shown, digest } = await this.#newPassword(addressId, salt, options.password);
    const device = await this.#store.addDevice({
      addressId, name: options.name.trim(), user: typeof options.user === 'string' ? options.user.trim() : null,
      scopes, expiresAt, digest, params: formatParams(this.#params), actor,
    });
    this.#changed('added', address, toView(device), actor, options.origin ?? null);
    return { ...toView(device), password: shown };
  }

  /**
   * The checks addDevice makes before any password exists, for a device that
   * is added later (an invitation): the same refusals, given up front.
   */
  checkDeviceOptions(options: Omit<NewDeviceOptions, 'password'>): { name: string | null; user: string | null; scopes: Scope[] } {
    if (options.name !== undefined && options.name !== null && options.name !== '' && !validText(options.name)) throw new DevicepassError('NAME_INVALID');
    if (options.user !== undefined && options.user !== null && !validText(options.user)) throw new DevicepassError('USER_INVALID');
    const scopes = parseScopes(options.scopes);
    this.#parseExpiry(options.expires);
    return { name: typeof options.name === 'string' && options.name !== '' ? options.name.trim() : null, user: typeof options.user === 'string' ? options.user.trim() : null, scopes };
  }

  async listDevices(input: unknown): Promise<DeviceView[]> {
    return (await this.#store.listDevices((await this.#address(input)).id)).map(toView);
  }

  async renameDevice(input: unknown, ref: unknown, name: unknown, actor: string): Promise<DeviceView> {
    const { id: addressId } = await this.#address(input);
    const device = await this.#device(addressId, ref);
    if (device.kind === 'generic') throw new DevicepassError('GENERIC_NOT_RESETTABLE', 'the generic password keeps its name');
    if (device.state !== 'active') throw new DevicepassError('DEVICE_REVOKED');
    if (!validText(name)) throw new DevicepassError('NAME_INVALID');
    await this.#store.renameDevice(addressId, device.id, name.trim(), actor);
    return toView((await this.#store.device(addressId, device.id))!);
  }

  async resetDevice(input: unknown, ref: unknown, password: unknown, actor: string): Promise<DeviceView & { password: string; sessionsClosed: number }> {
    const { id: addressId, salt, address } = await this.#address(input);
    const device = await this.#device(addressId, ref);
    if (device.kind === 'generic') throw new DevicepassError('GENERIC_NOT_RESETTABLE');
    if (device.state !== 'active') throw new DevicepassError('DEVICE_REVOKED', `device ${device.id} ("${device.name}") is revoked; add a new device instead`);
    const { shown, digest } = await this.#newPassword(addressId, salt, password);
    await this.#store.resetDevice(addressId, device.id, digest, formatParams(this.#params), actor);
    const sessionsClosed = this.#registry.closeDevice(device.id, 'device-reset');
    const view = toView((await this.#store.device(addressId, device.id))!);
    this.#changed('reset', address, view, actor, null);
    return { ...view, password: shown, sessionsClosed };
  }

  async revokeDevice(input: unknown, ref: unknown, actor: string): Promise<DeviceView & { sessionsClosed: number }> {
    const { id: addressId, address } = await this.#address(input);
    const device = await this.#device(addressId, ref);
    if (device.state !== 'active') {
      // perhaps the retry of a revocation that failed past its commit: it answers no sooner than the revocation would have
      await this.#store.settle();
      throw new DevicepassError('DEVICE_REVOKED', `device ${viewId(device)} ("${device.name}") is already revoked`);
    }
    await this.#store.revokeDevice(addressId, device.id, actor);
    const sessionsClosed = this.#registry.closeDevice(device.id, 'device-revoked');
    const view = toView((await this.#store.device(addressId, device.id))!);
    this.#changed('revoked', address, view, actor, null);
    return { ...view, sessionsClosed };
  }

  async revokeAll(input: unknown, confirmed: boolean, includeGeneric: boolean, actor: string): Promise<{ address: string; revoked: number; sessionsClosed: number }> {
    const { address, id } = await this.#address(input);
    if (!confirmed) throw new DevicepassError('CONFIRMATION_REQUIRED', `this revokes every device of ${address}; repeat with --yes`);
    const targets = (await this.#store.listDevices(id)).filter((d) => d.state === 'active' && (includeGeneric || d.kind === 'device'));
    const revoked = await this.#store.revokeAll(id, includeGeneric, actor);
    const sessionsClosed = targets.reduce((sum, d) => sum + this.#registry.closeDevice(d.id, 'device-revoked'), 0);
    for (const d of targets) this.#changed('revoked', address, toView((await this.#store.device(id, d.id))!), actor, null);
    return { address, revoked, sessionsClosed };
  }

  async importGeneric(input: unknown, hashText: unknown, actor: string): Promise<{ address: string; scheme: string; outcome: ImportOutcome }> {
    const address = requireAddress(input);
    if (typeof hashText !== 'string') throw new DevicepassError('HASH_INVALID');
    let hash;
    try {
      hash = parseLegacyHash(hashText.trim());
    } catch (err) {
      if (err instanceof LegacyHashError) throw new DevicepassError('HASH_INVALID', err.message);
      throw err;
    }
    const outcome = await this.#store.importGeneric(address, randomBytes(SALT_BYTES), hash.scheme, hash.encoded, actor);
    if (outcome === 'revoked') throw new DevicepassError('GENERIC_REVOKED', `the generic password of ${address} was revoked for good`);
    if (outcome === 'replaced') await this.#closeGeneric(address);
    return { address, scheme: hash.scheme, outcome };
  }

  /**
   * All or nothing: every line is checked first and any bad line (with its
   * number) refuses the whole file, so an operator never half-migrates; then
   * every line is written in one transaction, a crash included. Both steps
   * run in slices of at most IMPORT_SLICE_MS, yielding to the event loop in
   * between, on a connection of the import's own: logins are answered
   * throughout. Addresses whose generic was revoked for good are reported,
   * not revived.
   */
  async importPasswdFile(text: unknown, actor: string): Promise<{ imported: number; replaced: number; unchanged: number; revoked: string[] }> {
    if (typeof text !== 'string') throw new DevicepassError('REQUEST_INVALID', 'passwd-file content must be text');
    const { entries, errors } = await parsePasswdFileInSlices(text, IMPORT_SLICE_MS);
    const lines = await inSlices(entries, (entry) => ({ ...entry, address: entry.user.includes('@') ? requireOrNull(entry.user) : null }));
    for (const line of lines) if (line.address === null) errors.push({ line: line.line, message: 'user is not a mail address' });
    if (errors.length > 0) {
      errors.sort((a, b) => a.line - b.line);
      const summary = errors.slice(0, 20).map((e) => `line ${e.line}: ${e.message}`).join('\n');
      throw new DevicepassError('IMPORT_INVALID', `${errors.length} invalid line(s); nothing was imported\n${summary}`, { errors });
    }
    const counts = { imported: 0, replaced: 0, unchanged: 0, revoked: [] as string[] };
    const replaced: string[] = [];
    const bulk = await this.#store.beginBulkImport();
    try {
      await inSlices(lines, async (line) => {
        const outcome = await bulk.importGeneric(line.address!, randomBytes(SALT_BYTES), line.hash.scheme, line.hash.encoded, actor);
        if (outcome === 'revoked') counts.revoked.push(line.address!);
        else counts[outcome]++;
        if (outcome === 'replaced') replaced.push(line.address!);
      });
    } catch (err) {
      await bulk.rollback();
      throw err;
    }
    await bulk.commit();
    // committed: the clients still using a replaced generic password are cut (other processes see the journal)
    for (const address of replaced) await this.#closeGeneric(address);
    return counts;
  }

  events(input: unknown, limit: number): Promise<StoredEvent[]> {
    const address = input === undefined || input === null ? null : requireAddress(input);
    return this.#store.events(address, limit);
  }

  #changed(type: DeviceChange['type'], address: string, device: DeviceView, actor: string, origin: string | null): void {
    const change = { type, address, device, actor, origin, at: this.#now() };
    for (const listener of this.#listeners) listener(change);
  }

  async #closeGeneric(address: string): Promise<void> {
    const row = await this.#store.findAddress(address);
    const generic = row && (await this.#store.genericDevice(row.id));
    if (generic) this.#registry.closeDevice(generic.id, 'generic-replaced');
  }

  async #address(input: unknown) {
    const address = requireAddress(input);
    const row = await this.#store.findAddress(address);
    if (!row) throw new DevicepassError('ADDRESS_UNKNOWN', `no such address: ${address} (add it with "devicepass address add")`);
    return row;
  }

  async #device(addressId: number, ref: unknown): Promise<DeviceRow> {
    const text = typeof ref === 'number' ? String(ref) : typeof ref === 'string' ? ref.trim() : '';
    const device = text.toLowerCase() === 'generic'
      ? await this.#store.genericDevice(addressId)
      : /^\d{1,15}$/.test(text) ? await this.#store.device(addressId, Number(text)) : undefined;
    if (!device) throw new DevicepassError('DEVICE_UNKNOWN', `no device ${JSON.stringify(text.slice(0, 40))} for this address`);
    return device;
  }

  async #newPassword(addressId: number, salt: Buffer, chosen: unknown): Promise<{ shown: string; digest: Buffer }> {
    let shown: string;
    if (chosen === undefined || chosen === null) {
      shown = generatePassword();
    } else {
      if (typeof chosen !== 'string') throw new DevicepassError('PASSWORD_WEAK');
      if (passwordLength(normalizeDevicePassword(chosen)) < CHOSEN_MINIMUM) throw new DevicepassError('PASSWORD_WEAK');
      if (Buffer.byteLength(chosen) > MAX_PASSWORD_BYTES) throw new DevicepassError('PASSWORD_WEAK', `a password may be at most ${MAX_PASSWORD_BYTES} bytes`);
      shown = chosen;
    }
    const digest = await computeDigest(normalizeDevicePassword(shown), salt, this.#params);
    const owner = await this.#store.activeDigestOwner(addressId, digest);
    if (owner !== undefined) throw new DevicepassError('PASSWORD_IN_USE', `this password is already in use by device "${owner}"`);
    return { shown, digest };
  }

  #parseExpiry(input: unknown): number | null {
    if (input === undefined || input === null || input === '') return null;
    if (typeof input !== 'string') throw new DevicepassError('EXPIRES_INVALID');
    const relative = /^\d/.test(input) && !input.includes('-') ? parseDuration(input) : null;
    const at = relative !== null ? this.#now() + relative : Date.parse(input);
    if (!Number.isFinite(at) || at <= this.#now()) throw new DevicepassError('EXPIRES_INVALID');
    return at;
  }
}

function parseScopes(input: unknown): Scope[] {
  if (input === undefined || input === null || input === '') return DEFAULT_SCOPES;
  const list = typeof input === 'string' ? input.split(',') : Array.isArray(input) ? input : null;
  if (!list) throw new DevicepassError('SCOPES_INVALID');
  const scopes = [...new Set(list.map((s) => String(s).trim().toLowerCase()))];
  if (scopes.length === 0 || !scopes.every((s): s is Scope => (SCOPES as readonly string[]).includes(s))) {
    throw new DevicepassError('SCOPES_INVALID');
  }
  return scopes;
}

function requireOrNull(user: string): string | null {
  try {
    return requireAddress(user);
  } catch {
    return null;
  }
}

function viewId(device: DeviceRow): string {
  return device.kind === 'generic' ? 'generic' : String(device.id);
}

function iso(ms: number): string;
function iso(ms: number | null): string | null;
function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export function toView(device: DeviceRow): DeviceView {
  return {
    id: viewId(device), name: device.name, kind: device.kind, user: device.user, scopes: device.scopes, state: device.state,
    created: iso(device.createdAt), createdBy: device.createdBy, expires: iso(device.expiresAt), revoked: iso(device.revokedAt),
    lastUsed: device.lastUse && { at: iso(device.lastUse.at), protocol: device.lastUse.protocol, ip: device.lastUse.ip, client: device.lastUse.client },
  };
}
