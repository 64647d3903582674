import type { DeviceChange } from '../credentials/admin.js';

export interface Notice {
  to: string;
  subject: string;
  text: string;
}

const WHAT = {
  added: { subject: 'New device on your mail account', line: 'A new device password was created for' },
  reset: { subject: 'Device password changed on your mail account', line: 'A device password was replaced for' },
  revoked: { subject: 'Device removed from your mail account', line: 'A device password was revoked for' },
} as const;

/** The short plain-text notice about one device change: which device, when, how, and what to do. Never a password. */
export function noticeFor(change: DeviceChange): Notice {
  const what = WHAT[change.type];
  const when = new Date(change.at).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  const how = change.actor.startsWith('invite:')
    ? ['set up through an invitation link', ...(change.origin ? [`           from the network address ${change.origin}`] : [])]
    : ['by your mail administrator'];
  const lines = [
    `${what.line} ${change.address}.`,
    '',
    `  Device:  "${change.device.name}" (id ${change.device.id})`,
    `  When:    ${when}`,
    `  How:     ${how.join('\n')}`,
    '',
    change.type === 'revoked'
      ? 'Mail programs using this password can no longer sign in.'
      : 'If you did not do this and did not ask for it, tell your mail',
    change.type === 'revoked'
      ? 'If you did not expect this, ask your mail administrator.'
      : 'administrator at once: the device can be revoked on its own.',
    '',
    'This message was sent automatically. No password is ever sent by mail.',
  ];
  return { to: change.address, subject: `${what.subject}: ${change.device.name}`, text: `${lines.join('\n')}\n` };
}
