import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { freePort, ids, run, waitForPort } from './host.js';

/** Mail for these domains is delivered (every recipient to one Maildir); the rest is refused. */
export const POSTFIX_DOMAINS = ['example.com', 'example.net'];
/** A recipient Postfix refuses at RCPT with 550 5.1.1, to show an upstream refusal reaching the client. */
export const POSTFIX_REFUSED_RECIPIENT = 'nobody@example.net';

export interface PostfixInstance {
  dir: string;
  host: string;
  port: number;
  /** The Maildir every accepted message lands in. */
  maildir: string;
  /** The messages delivered so far, oldest first (whole files, headers included). */
  messages(): string[];
  /** Waits until `count` messages have been delivered. */
  waitForMessages(count: number, timeoutMs?: number): Promise<string[]>;
  log(): string;
  stop(): Promise<void>;
}

export function postfixInstalled(): boolean {
  return existsSync('/usr/sbin/postfix') && existsSync('/usr/lib/postfix/sbin/master');
}

/**
 * A standalone Postfix from Debian under a short temp folder, for end-to-end
 * tests and benchmarks: its own config, queue and data directories, no chroot,
 * a log file (there is no syslog here), listening on a free loopback port,
 * XCLIENT allowed from loopback (that is devicepass) and the SASL login of an
 * XCLIENT session written into Received. Runs as root (Postfix drops to its
 * own user).
 */
export async function startPostfix(): Promise<PostfixInstance> {
  if (!postfixInstalled()) throw new Error('Postfix is not installed (apt-get install postfix)');
  // every parent of the instance must be searchable by the postfix user
  const dir = mkdtempSync('/tmp/pf-');
  chmodSync(dir, 0o755);
  const conf = path.join(dir, 'conf');
  const queue = path.join(dir, 'queue');
  const data = path.join(dir, 'data');
  const mail = path.join(dir, 'mail');
  for (const d of [conf, queue, data, mail]) mkdirSync(d, { mode: 0o755 });
  const postfixUser = await ids('postfix');
  chownSync(data, postfixUser.uid, postfixUser.gid);
  // the virtual delivery agent writes as this owner
  chownSync(mail, postfixUser.uid, postfixUser.gid);
  const port = await freePort();
  const logFile = path.join(dir, 'maillog');

  writeFileSync(path.join(conf, 'main.cf'), mainCf({ queue, data, mail, logFile, dir, uid: postfixUser.uid, gid: postfixUser.gid }));
  writeFileSync(path.join(conf, 'master.cf'), postfixMasterCf(port));
  await run('/usr/sbin/postfix', ['-c', conf, 'set-permissions']).catch(() => undefined);
  await run('/usr/sbin/postfix', ['-c', conf, 'start']);
  await waitForPort(port, 15_000, 'Postfix');

  const maildir = path.join(mail, 'box');
  const messages = () => {
    const fresh = path.join(maildir, 'new');
    if (!existsSync(fresh)) return [];
    return readdirSync(fresh)
      .sort()
      .map((f) => readFileSync(path.join(fresh, f), 'utf8'));
  };
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  return {
    dir,
    host: '127.0.0.1',
    port,
    maildir,
    messages,
    log,
    waitForMessages: async (count, timeoutMs = 15_000) => {
      const deadline = Date.now() + timeoutMs;
      while (messages().length < count) {
        if (Date.now() > deadline) throw new Error(`Postfix delivered ${messages().length} of ${count} messages; log:\n${log().slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      return messages();
    },
    stop: async () => {
      await run('/usr/sbin/postfix', ['-c', conf, 'stop']).catch(() => undefined);
      // master takes a moment to let its children go
      await new Promise((r) => setTimeout(r, 300));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function mainCf(o: { queue: string; data: string; mail: string; logFile: string; dir: string; uid: number; gid: number }): string {
  return `compatibility_level = 3.6
queue_directory = ${o.queue}
data_directory = ${o.data}
mail_owner = postfix
setgid_group = postdrop
maillog_file = ${o.logFile}
maillog_file_prefixes = ${o.dir}
myhostname = mx.postfix.test
mydomain = postfix.test
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains =
alias_maps =
alias_database =
local_recipient_maps =
biff = no
smtputf8_enable = yes
# devicepass hands over each client with XCLIENT LOGIN=… ADDR=…
smtpd_authorized_xclient_hosts = 127.0.0.0/8
smtpd_sasl_authenticated_header = yes
smtpd_recipient_restrictions = check_recipient_access inline:{ { ${POSTFIX_REFUSED_RECIPIENT} = 550 5.1.1 Mailbox unavailable } }, permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
# every address of the test domains lands in one Maildir
virtual_mailbox_domains = ${POSTFIX_DOMAINS.join(' ')}
virtual_mailbox_base = ${o.mail}
virtual_mailbox_maps = static:box/
virtual_uid_maps = static:${o.uid}
virtual_gid_maps = static:${o.gid}
virtual_minimum_uid = 1
service_throttle_time = 1s
`;
}

/**
 * master.cf: smtpd on 127.0.0.1:`port` and the services a loopback submission
 * and a local Maildir delivery need, none chrooted; `omit` names the services
 * an instance does without (one that delivers nothing).
 */
export function postfixMasterCf(port: number, omit: readonly string[] = []): string {
  const services = [
    [`127.0.0.1:${port}`, 'inet', 'n', '-', 'n', '-', '-', 'smtpd'],
    ['pickup', 'unix', 'n', '-', 'n', '60', '1', 'pickup'],
    ['cleanup', 'unix', 'n', '-', 'n', '-', '0', 'cleanup'],
    ['qmgr', 'unix', 'n', '-', 'n', '300', '1', 'qmgr'],
    ['rewrite', 'unix', '-', '-', 'n', '-', '-', 'trivial-rewrite'],
    ['bounce', 'unix', '-', '-', 'n', '-', '0', 'bounce'],
    ['defer', 'unix', '-', '-', 'n', '-', '0', 'bounce'],
    ['trace', 'unix', '-', '-', 'n', '-', '0', 'bounce'],
    ['verify', 'unix', '-', '-', 'n', '-', '1', 'verify'],
    ['flush', 'unix', 'n', '-', 'n', '1000?', '0', 'flush'],
    ['proxymap', 'unix', '-', '-', 'n', '-', '-', 'proxymap'],
    ['smtp', 'unix', '-', '-', 'n', '-', '-', 'smtp'],
    ['relay', 'unix', '-', '-', 'n', '-', '-', 'smtp'],
    ['showq', 'unix', 'n', '-', 'n', '-', '-', 'showq'],
    ['error', 'unix', '-', '-', 'n', '-', '-', 'error'],
    ['retry', 'unix', '-', '-', 'n', '-', '-', 'error'],
    ['discard', 'unix', '-', '-', 'n', '-', '-', 'discard'],
    ['local', 'unix', '-', 'n', 'n', '-', '-', 'local'],
    ['virtual', 'unix', '-', 'n', 'n', '-', '-', 'virtual'],
    ['anvil', 'unix', '-', '-', 'n', '-', '1', 'anvil'],
    ['scache', 'unix', '-', '-', 'n', '-', '1', 'scache'],
    ['postlog', 'unix-dgram', 'n', '-', 'n', '-', '1', 'postlogd'],
  ];
  return services.filter(([name]) => !omit.includes(name!)).map((s) => s.join('  ')).join('\n') + '\n';
}

