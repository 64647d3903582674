import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebEnv, type WebEnv } from '../helpers/web-env.js';

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@' });

function parseXml(text: string): Record<string, unknown> {
  expect(XMLValidator.validate(text)).toBe(true);
  return parser.parse(text) as Record<string, unknown>;
}

const autodiscoverRequest = (address: string) => `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>${address}</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>`;

describe('client autoconfiguration', () => {
  let env: WebEnv;

  beforeAll(async () => {
    env = await startWebEnv({
      // what clients are told, without binding those ports here (the defaults from listeners: unit/web/client-settings.test.ts)
      web: { public_url: 'https://mail.example.com', imap: { port: 1993 }, smtp: { host: 'smtp.example.com', port: 1587, security: 'starttls' } },
    });
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('answers Thunderbird autoconfig on both paths, the same for a known and an unknown address', async () => {
    const known = await env.request('GET', '/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=alice%40example.com');
    const unknown = await env.request('GET', '/mail/config-v1.1.xml?emailaddress=nobody%40example.com');
    expect(known.status).toBe(200);
    expect(known.headers['content-type']).toContain('xml');
    expect(unknown.text).toBe(known.text);
    const config = parseXml(known.text) as { clientConfig: { '@version': string; emailProvider: Record<string, unknown> } };
    expect(config.clientConfig['@version']).toBe('1.1');
    const provider = config.clientConfig.emailProvider;
    expect(provider['@id']).toBe('mail.example.com');
    expect(provider.incomingServer).toEqual({
      '@type': 'imap', hostname: 'mail.example.com', port: 1993, socketType: 'SSL', authentication: 'password-cleartext', username: '%EMAILADDRESS%',
    });
    expect(provider.outgoingServer).toEqual({
      '@type': 'smtp', hostname: 'smtp.example.com', port: 1587, socketType: 'STARTTLS', authentication: 'password-cleartext', username: '%EMAILADDRESS%',
    });
  });

  it('answers Outlook POX autodiscover at any case of the path, naming the requested address as user name', async () => {
    const ask = (path: string, address: string) => env.request('POST', path, { headers: { 'Content-Type': 'text/xml' }, body: autodiscoverRequest(address) });
    const known = await ask('/autodiscover/autodiscover.xml', 'alice@example.com');
    const unknown = await ask('/Autodiscover/Autodiscover.xml', 'nobody@example.com');
    expect(known.status).toBe(200);
    expect(unknown.status).toBe(200);
    expect(unknown.text.replaceAll('nobody@', 'alice@')).toBe(known.text);
    const answer = parseXml(known.text) as { Autodiscover: { '@xmlns': string; Response: { '@xmlns': string; Account: Record<string, unknown> } } };
    expect(answer.Autodiscover['@xmlns']).toBe('http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006');
    expect(answer.Autodiscover.Response['@xmlns']).toBe('http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a');
    const account = answer.Autodiscover.Response.Account;
    expect(account).toMatchObject({ AccountType: 'email', Action: 'settings' });
    const protocols = account.Protocol as Array<Record<string, unknown>>;
    expect(protocols.map((p) => [p.Type, p.Server, p.Port, p.LoginName, p.Encryption])).toEqual([
      ['IMAP', 'mail.example.com', 1993, 'alice@example.com', 'SSL'],
      ['SMTP', 'smtp.example.com', 1587, 'alice@example.com', 'TLS'],
    ]);

    const hostile = await ask('/autodiscover/autodiscover.xml', '<x>&amp;"@example.com');
    expect(hostile.status).toBe(200);
    parseXml(hostile.text);
    expect(hostile.text).not.toContain('LoginName');
  });

  it('answers the JSON autodiscover step with a pointer to the POX endpoint, and nothing for other protocols', async () => {
    const v1 = await env.request('GET', '/autodiscover/autodiscover.json/v1.0/alice@example.com?Protocol=AutodiscoverV1');
    expect(v1.status).toBe(200);
    expect(JSON.parse(v1.text)).toEqual({ Protocol: 'AutodiscoverV1', Url: 'https://mail.example.com/autodiscover/autodiscover.xml' });
    const unknown = await env.request('GET', '/Autodiscover/Autodiscover.json?Email=nobody@example.com&Protocol=AutodiscoverV1');
    expect(unknown.text).toBe(v1.text);
    const ews = await env.request('GET', '/autodiscover/autodiscover.json/v1.0/alice@example.com?Protocol=EWS');
    expect(ews.status).toBe(400);
    expect(JSON.parse(ews.text)).toMatchObject({ ErrorCode: 'ProtocolNotSupported' });
  });
});
