/**
 * SASL PLAIN and LOGIN as step functions over base64 payloads: each step
 * either asks for more (a CONT challenge), yields credentials, or refuses a
 * malformed payload. No I/O; the orchestrator drives them.
 */

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

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function decodeBase64(text: string): Buffer | null {
  return BASE64.test(text) ? Buffer.from(text, 'base64') : null;
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

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
      const raw = decodeBase64(payload);
      if (!raw) return { kind: 'invalid', why: 'invalid base64' };
      const parts = raw.toString('utf8').split('\x00');
      if (parts.length !== 3) return { kind: 'invalid', why: 'PLAIN response is not authzid NUL user NUL password' };
      const [authzid, user, password] = parts as [string, string, string];
      return { kind: 'done', credentials: { authzid, user, password } };
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
        const raw = decodeBase64(payload);
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
        return { kind: 'challenge', base64: b64('Username:') };
      }
      return { kind: 'challenge', base64: b64('Password:') };
    },
  };
}
