import { normalizeAddress } from '../credentials/address.js';

export type SenderPolicyMode = 'strict' | 'off';

/**
 * Who may appear in MAIL FROM. strict: the login address itself or one of its
 * configured aliases, compared case-insensitively (the null sender is refused
 * too: a submitting user has no reason to send bounces); off: anyone.
 */
export class SenderPolicy {
  readonly #mode: SenderPolicyMode;
  readonly #aliases = new Map<string, Set<string>>();

  constructor(mode: SenderPolicyMode, aliases: Readonly<Record<string, readonly string[]>>) {
    this.#mode = mode;
    for (const [login, senders] of Object.entries(aliases)) {
      const key = normalizeAddress(login);
      if (key === null) throw new Error(`[smtp] aliases: not an address: ${JSON.stringify(login)}`);
      const set = this.#aliases.get(key) ?? new Set<string>();
      for (const sender of senders) {
        const value = normalizeAddress(sender);
        if (value === null) throw new Error(`[smtp] aliases for ${key}: not an address: ${JSON.stringify(sender)}`);
        set.add(value);
      }
      this.#aliases.set(key, set);
    }
  }

  allows(login: string, mailFrom: string): boolean {
    if (this.#mode === 'off') return true;
    const sender = normalizeAddress(mailFrom);
    const owner = normalizeAddress(login);
    if (sender === null || owner === null) return false;
    return sender === owner || (this.#aliases.get(owner)?.has(sender) ?? false);
  }
}
