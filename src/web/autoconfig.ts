import { normalizeAddress } from '../credentials/address.js';
import type { ClientSettings, ServerSetting } from './client-settings.js';
import { escapeHtml as escapeXml } from './html.js';

/**
 * Client autoconfiguration. Every answer is the same whatever address is
 * asked about, known or not: these endpoints must not tell who has a mailbox.
 */

/** Thunderbird's clientConfig 1.1 (autoconfig), with %EMAILADDRESS% as the user name. */
export function autoconfigXml(settings: ClientSettings, serviceHost: string): string {
  const server = (element: 'incomingServer' | 'outgoingServer', s: ServerSetting) => `    <${element} type="${s.protocol}">
      <hostname>${escapeXml(s.host)}</hostname>
      <port>${s.port}</port>
      <socketType>${s.security === 'tls' ? 'SSL' : 'STARTTLS'}</socketType>
      <authentication>password-cleartext</authentication>
      <username>%EMAILADDRESS%</username>
    </${element}>
`;
  const host = escapeXml(serviceHost);
  return `<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="${host}">
    <domain>${host}</domain>
    <displayName>${host}</displayName>
    <displayShortName>${host}</displayShortName>
${server('incomingServer', settings.imap)}${settings.offersPop3 ? server('incomingServer', settings.pop3) : ''}${server('outgoingServer', settings.smtp)}  </emailProvider>
</clientConfig>
`;
}

const REQUESTED_ADDRESS = /<EMailAddress>\s*([^<\s]{1,320})\s*<\/EMailAddress>/i;

/**
 * Outlook's POX autodiscover answer (outlook/responseschema/2006a). The user
 * name is the address the request names, echoed whether or not it exists.
 */
export function autodiscoverXml(settings: ClientSettings, request: string | null): string {
  const asked = request === null ? null : REQUESTED_ADDRESS.exec(request)?.[1] ?? null;
  const address = asked === null ? null : normalizeAddress(asked);
  const protocol = (type: string, s: ServerSetting, extra: string) => `      <Protocol>
        <Type>${type}</Type>
        <Server>${escapeXml(s.host)}</Server>
        <Port>${s.port}</Port>
        <DomainRequired>off</DomainRequired>
${address === null ? '' : `        <LoginName>${escapeXml(address)}</LoginName>\n`}        <SPA>off</SPA>
        <SSL>on</SSL>
        <Encryption>${s.security === 'tls' ? 'SSL' : 'TLS'}</Encryption>
        <AuthRequired>on</AuthRequired>
${extra}      </Protocol>
`;
  return `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
  <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
    <Account>
      <AccountType>email</AccountType>
      <Action>settings</Action>
${protocol('IMAP', settings.imap, '')}${settings.offersPop3 ? protocol('POP3', settings.pop3, '') : ''}${protocol('SMTP', settings.smtp, '        <UsePOPAuth>on</UsePOPAuth>\n        <SMTPLast>off</SMTPLast>\n')}    </Account>
  </Response>
</Autodiscover>
`;
}

/**
 * The JSON autodiscover step newer Outlook makes first
 * (/autodiscover/autodiscover.json/v1.0/ADDRESS?Protocol=AutodiscoverV1):
 * it only points at the POX endpoint above. Other protocols (ActiveSync, EWS) are not served.
 */
export function autodiscoverJson(url: URL, publicUrl: string): { status: number; body: Record<string, string> } {
  const protocol = [...url.searchParams].find(([key]) => key.toLowerCase() === 'protocol')?.[1] ?? '';
  if (protocol.toLowerCase() !== 'autodiscoverv1') {
    return { status: 400, body: { ErrorCode: 'ProtocolNotSupported', ErrorMessage: 'only AutodiscoverV1 is served here' } };
  }
  return { status: 200, body: { Protocol: 'AutodiscoverV1', Url: `${publicUrl}/autodiscover/autodiscover.xml` } };
}
