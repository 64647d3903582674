/**
 * SASL PLAIN and LOGIN as step functions over base64 payloads: each step
 * either asks for more (a CONT challenge), yields credentials, or refuses a
 * malformed payload. No I/O; the orchestrator drives them.
 */

import { decodeSaslBase64, LOGIN_PASSWORD_PROMPT, LOGIN_USERNAME_PROMPT, splitPlain } from '../sasl/encoding.js';

export const MECHANISMS = ['PLAIN', 'LOGIN'] as const;
export type Mechanism = (typeof MECHANISMS)[number];

export interface Credentials {
  authzid: string;
  user: string;
  password: string;
}

export type Step =
  | { kind: 'challenge'; base64: string }
  | { kind: 'done'; credentials: Credentials }
  | { kind: 'invalid'; why: string };

export interface MechanismState {
  /** Feeds one client payload (base64 text, or null before any was sent). */
  step(base64: string | null): Step;
}

export function isMechanism(name: string): name is Mechanism {
  return (MECHANISMS as readonly string[]).includes(name);
}

export function startMechanism(name: Mechanism): MechanismState {
  return name === 'PLAIN' ? plain() : login();
}

/** PLAIN (RFC 4616): [authzid] NUL authcid NUL passwd, in one step; an absent initial response gets an empty challenge. */
function plain(): MechanismState {
  let asked = false;
  return {
    step(payload) {
      if (payload === null) {
        if (asked) return { kind: 'invalid', why: 'PLAIN response missing' };
        asked = true;
        return { kind: 'challenge', base64: '' };
      }
      const raw = decodeSaslBase64(payload);
      if (!raw) return { kind: 'invalid', why: 'invalid base64' };
      const plain = splitPlain(raw);
      if (!plain) return { kind: 'invalid', why: 'PLAIN response is not authzid NUL user NUL password' };
      const text = (bytes: Buffer) => bytes.toString('utf8');
      return { kind: 'done', credentials: { authzid: text(plain.authzid), user: text(plain.authcid), password: text(plain.password) } };
    },
  };
}

/** LOGIN (draft-murchison-sasl-login): "Username:" then "Password:"; an initial response counts as the user name. */
function login(): MechanismState {
  let user: string | null = null;
  let prompted = false;
  return {
    step(payload) {
      if (payload !== null) {
        const raw = decodeSaslBase64(payload);
        if (!raw) return { kind: 'invalid', why: 'invalid base64' };
        const text = raw.toString('utf8');
        if (user === null) {
          // an empty initial response is "no initial response"; an empty answer to the prompt is an empty user name
          if (text !== '' || prompted) user = text;
        } else {
          return { kind: 'done', credentials: { authzid: '', user, password: text } };
        }
      }
      if (user === null) {
        prompted = true;
        return { kind: 'challenge', base64: LOGIN_USERNAME_PROMPT };
      }
      return { kind: 'challenge', base64: LOGIN_PASSWORD_PROMPT };
    },
  };
}
