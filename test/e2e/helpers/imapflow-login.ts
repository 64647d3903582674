import { ImapFlow } from 'imapflow';

/**
 * A whole IMAP login with ImapFlow on 127.0.0.1:`port` (plaintext): connect,
 * open INBOX, log out. Resolves with the mailbox's path; rejects when the
 * login (or anything after it) fails.
 */
export async function loginAndOpenInbox(port: number, user: string, password: string, loginMethod?: 'LOGIN'): Promise<string> {
  const client = new ImapFlow({
    host: '127.0.0.1', port, secure: false, logger: false,
    auth: { user, pass: password, ...(loginMethod ? { loginMethod } : {}) },
  });
  try {
    await client.connect();
    const box = await client.mailboxOpen('INBOX');
    await client.logout();
    return box.path;
  } catch (err) {
    client.close();
    throw err;
  }
}
