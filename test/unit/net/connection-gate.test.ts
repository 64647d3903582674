import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log/logger.js';
import { clientNetwork } from '../../../src/net/client-network.js';
import { ConnectionGate, type GateLimits } from '../../../src/net/connection-gate.js';

function gate(limits: GateLimits = { maxConnections: 5, maxPerNetwork: 3, maxUnauthenticated: 4, maxUnauthenticatedPerNetwork: 2 }) {
  const lines: Record<string, unknown>[] = [];
  let now = 0;
  const log = createLogger('warn', { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { gate: new ConnectionGate('imap', limits, log, () => now), lines, advance: (ms: number) => (now += ms) };
}

describe('clientNetwork', () => {
  it('is the IPv4 address itself (mapped or not), the /64 of an IPv6 address, null for anything else', () => {
    expect(clientNetwork('192.0.2.7')).toBe('192.0.2.7');
    expect(clientNetwork('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(clientNetwork('2001:db8:1:2::5')).toBe('2001:db8:1:2::/64');
    expect(clientNetwork('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(clientNetwork('2001:db8::1')).toBe('2001:db8::/64');
    expect(clientNetwork('::1')).toBe('0::/64');
    expect(clientNetwork('unknown')).toBeNull();
  });
});

describe('ConnectionGate', () => {
  it('counts per network and in total, before and after login, and forgets a released connection', () => {
    const { gate: g } = gate();
    const a = [g.admit('192.0.2.1'), g.admit('192.0.2.1')] as const;
    expect(g.admit('192.0.2.1')).toEqual({ ok: false, limit: 'unauthenticated_per_network' });
    if (!a[0].ok) throw new Error('admitted');
    a[0].ticket.authenticated();
    a[0].ticket.authenticated(); // twice counts once
    const third = g.admit('192.0.2.1');
    expect(third.ok).toBe(true);
    expect(g.admit('192.0.2.1')).toEqual({ ok: false, limit: 'connections_per_network' });
    expect(g.admit('192.0.2.2').ok).toBe(true);
    expect(g.admit('192.0.2.3').ok).toBe(true);
    expect(g.admit('192.0.2.4')).toEqual({ ok: false, limit: 'connections' });
    a[0].ticket.release();
    a[0].ticket.release(); // twice counts once
    expect(g.stats()).toMatchObject({ open: 4, unauthenticated: 4 });
    // a Unix socket peer counts in the totals only: here the four not logged in
    expect(g.admit(null)).toEqual({ ok: false, limit: 'unauthenticated' });
    if (!a[1].ok) throw new Error('admitted');
    a[1].ticket.release();
    expect(g.admit(null).ok).toBe(true);
    expect(g.stats().hits).toEqual(new Map([['unauthenticated_per_network', 1], ['connections_per_network', 1], ['connections', 1], ['unauthenticated', 1]]));
  });

  it('logs a flood of refusals once per interval, with the number left out', () => {
    const { gate: g, lines, advance } = gate({ maxConnections: 1, maxPerNetwork: 1 });
    g.admit('192.0.2.1');
    for (let i = 0; i < 1000; i++) g.admit(`198.51.100.${i % 250}`);
    expect(lines).toHaveLength(1);
    advance(10_000);
    g.hit('login_timeout', '203.0.113.1');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ limit: 'login_timeout', suppressed: 999, surface: 'imap' });
    expect(g.stats().hits).toEqual(new Map([['connections', 1000], ['login_timeout', 1]]));
  });
});
