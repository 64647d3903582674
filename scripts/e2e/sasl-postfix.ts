import { chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { postfixMasterCf } from './postfix.js';
import { freePort, ids, instanceDir, readIfExists, run, waitForPort } from './sasl-dovecot.js';

export { postfixInstalled as postfixAvailable } from './postfix.js';

export interface SaslPostfix {
  dir: string;
  port: number;
  log(): string;
  stop(): Promise<void>;
}

/**
 * A standalone Postfix whose smtpd authenticates with `smtpd_sasl_type =
 * dovecot` against `authSocket` (devicepass's Dovecot SASL socket, absolute
 * path — no chroot), relays only for authenticated clients and discards
 * what it accepts: the test is about AUTH, not delivery.
 */
export async function startSaslPostfix(authSocket: string): Promise<SaslPostfix> {
  const dir = instanceDir('pfs');
  const conf = path.join(dir, 'conf');
  const queue = path.join(dir, 'queue');
  const data = path.join(dir, 'data');
  for (const d of [conf, queue, data]) mkdirSync(d, { mode: 0o755 });
  const postfix = await ids('postfix');
  chownSync(data, postfix.uid, postfix.gid);
  const port = await freePort();
  const logFile = path.join(dir, 'maillog');
  writeFileSync(
    path.join(conf, 'main.cf'),
    `compatibility_level = 3.6
queue_directory = ${queue}
data_directory = ${data}
mail_owner = postfix
setgid_group = postdrop
maillog_file = ${logFile}
maillog_file_prefixes = ${dir}
myhostname = mx.sasl.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks =
alias_maps =
alias_database =
local_recipient_maps =
# the two lines a user adds to an existing Postfix
smtpd_sasl_type = dovecot
smtpd_sasl_path = ${authSocket}
smtpd_sasl_auth_enable = yes
smtpd_sasl_security_options = noanonymous
smtpd_tls_security_level = none
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = permit_sasl_authenticated, reject
default_transport = discard
service_throttle_time = 1s
`,
  );
  // it discards what it accepts: no queue to flush, nothing to deliver (smtp, relay, local, virtual)
  writeFileSync(path.join(conf, 'master.cf'), postfixMasterCf(port, ['flush', 'smtp', 'relay', 'local', 'virtual']));
  const log = () => readIfExists(logFile);
  try {
    await run('/usr/sbin/postfix', ['-c', conf, 'set-permissions']).catch(() => undefined);
    await run('/usr/sbin/postfix', ['-c', conf, 'start']);
    await waitForPort(port, 15_000, 'Postfix');
  } catch (err) {
    await run('/usr/sbin/postfix', ['-c', conf, 'stop']).catch(() => undefined);
    throw new Error(`Postfix did not start: ${(err as Error).message}\n${log().slice(-3000)}`);
  }
  return {
    dir,
    port,
    log,
    stop: async () => {
      await run('/usr/sbin/postfix', ['-c', conf, 'stop']).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 300));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
