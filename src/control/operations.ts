import type { Authenticator } from '../auth/authenticator.js';
import type { LoginRecorder } from '../auth/login-recorder.js';
import type { Protocol } from '../auth/types.js';
import type { CredentialAdmin } from '../credentials/admin.js';
import { requireAddress } from '../credentials/address.js';
import { DevicepassError } from '../errors/catalogue.js';
import type { InvitationService } from '../invitations/service.js';
import type { SessionRegistry } from '../sessions/registry.js';

export interface ControlContext {
  admin: CredentialAdmin;
  invitations: InvitationService;
  authenticator: Authenticator;
  /** Whether a client network is one of [auth] trusted_networks (for `auth test --ip`). */
  isTrustedNetwork(ip: string): boolean;
  registry: SessionRegistry;
  recorder: LoginRecorder;
  status: () => Record<string, unknown> | Promise<Record<string, unknown>>;
  /** A consistent copy of the live database to an absolute path the daemon can write. */
  backup(file: string): Promise<unknown>;
}

type Args = Record<string, unknown>;
export type Operation = (ctx: ControlContext, args: Args, actor: string) => unknown;

const MAX_LOG_LIMIT = 10_000;

/** One entry per operation; the control server dispatches from this table and nothing else. */
export const OPERATIONS: ReadonlyMap<string, Operation> = new Map<string, Operation>([
  ['address.add', (ctx, a, actor) => ctx.admin.addAddress(a.address, actor)],
  ['address.list', (ctx) => ctx.admin.listAddresses()],
  ['backup', (ctx, a) => {
    if (typeof a.file !== 'string' || a.file === '') throw new DevicepassError('REQUEST_INVALID', 'file missing');
    return ctx.backup(a.file);
  }],
  ['address.remove', (ctx, a, actor) => ctx.admin.removeAddress(a.address, a.yes === true, actor)],
  ['device.add', (ctx, a, actor) =>
    ctx.admin.addDevice(a.address, { name: a.name, user: a.user, scopes: a.scopes, expires: a.expires, password: a.password }, actor)],
  ['device.list', async (ctx, a) => {
    await ctx.recorder.flush(); // last use as of now, not as of the last batch
    return ctx.admin.listDevices(a.address);
  }],
  ['device.rename', (ctx, a, actor) => ctx.admin.renameDevice(a.address, a.device, a.name, actor)],
  ['device.reset', (ctx, a, actor) => ctx.admin.resetDevice(a.address, a.device, a.password, actor)],
  ['device.revoke', (ctx, a, actor) => ctx.admin.revokeDevice(a.address, a.device, actor)],
  ['device.revoke-all', async (ctx, a, actor) => {
    const result = await ctx.admin.revokeAll(a.address, a.yes === true, a.includeGeneric === true, actor);
    // a link for a new device would undo what the administrator just did
    return { ...result, invitationsRevoked: await ctx.invitations.revokeOpen(a.address, actor, 'devices-revoked') };
  }],
  ['invite.create', (ctx, a, actor) =>
    ctx.invitations.create(a.address, { name: a.name, user: a.user, scopes: a.scopes, expires: a.expires, days: a.days }, actor)],
  ['invite.list', (ctx, a) => ctx.invitations.list(a.address)],
  ['invite.revoke', (ctx, a, actor) => ctx.invitations.revoke(a.address, a.invite, actor)],
  ['generic.import', (ctx, a, actor) => ctx.admin.importGeneric(a.address, a.hash, actor)],
  ['import.passwd-file', (ctx, a, actor) => ctx.admin.importPasswdFile(a.content, actor)],
  ['sessions', (ctx, a) => {
    const address = a.address === undefined || a.address === null ? undefined : requireAddress(a.address);
    return ctx.registry.list(address).map((s) => ({ ...s, since: new Date(s.since).toISOString() }));
  }],
  ['log', async (ctx, a) => {
    await ctx.recorder.flush();
    const limit = a.limit === undefined ? 50 : Number(a.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LOG_LIMIT) {
      throw new DevicepassError('REQUEST_INVALID', `limit must be a whole number from 1 to ${MAX_LOG_LIMIT}`);
    }
    return (await ctx.admin.events(a.address, limit)).map((e) => ({
      ...e, at: new Date(e.at).toISOString(), lastAt: new Date(e.lastAt).toISOString(),
      deviceId: e.deviceId === null ? null : String(e.deviceId),
    }));
  }],
  ['auth.test', authTest],
  ['status', (ctx) => ctx.status()],
]);

async function authTest(ctx: ControlContext, a: Args): Promise<unknown> {
  const protocol = a.protocol ?? 'imap';
  if (protocol !== 'imap' && protocol !== 'smtp' && protocol !== 'pop3') {
    throw new DevicepassError('REQUEST_INVALID', 'protocol must be imap, smtp or pop3');
  }
  if (typeof a.password !== 'string') throw new DevicepassError('REQUEST_INVALID', 'password missing');
  const clientIp = typeof a.clientIp === 'string' ? a.clientIp : '127.0.0.1';
  const result = await ctx.authenticator.authenticate({
    address: String(a.address ?? ''),
    password: a.password,
    protocol: protocol as Protocol,
    clientIp,
    // the administrator names the client network to try the login as from there
    trusted: ctx.isTrustedNetwork(clientIp),
    clientName: 'devicepass auth test',
  });
  // the administrator may know why; a client never would
  return result.ok
    ? { ok: true, address: result.address, device: { id: result.generic ? 'generic' : String(result.deviceId), name: result.deviceName } }
    : {
      ok: false, reason: result.reason, device: result.deviceName, temporary: result.temporary,
      since: result.since === null ? null : new Date(result.since).toISOString(),
    };
}
