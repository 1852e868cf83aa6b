import { describe, expect, it } from 'vitest';
import { credentialHeaders, credentialSubprotocols, resolveCredentials } from './credentials.js';

describe('credentials', () => {
  it('offers the RPC subprotocol first, then the credential, base64url without padding', () => {
    expect(credentialSubprotocols(undefined)).toStrictEqual(['cyber-rpc.v1']);
    expect(credentialSubprotocols({ bearer: 'a.b~c' })).toStrictEqual([
      'cyber-rpc.v1',
      'cyber-rpc.bearer.YS5ifmM',
    ]);
    // UTF-8 and characters that plain base64 would turn into '+', '/' or '='.
    const [, protocol] = credentialSubprotocols({ apiKey: 'ключ>?' });
    expect(protocol).toMatch(/^cyber-rpc\.api-key\.[A-Za-z0-9_-]+$/);
    expect(Buffer.from(String(protocol).slice('cyber-rpc.api-key.'.length), 'base64url').toString()).toBe(
      'ключ>?',
    );
  });

  it('maps credentials to the headers services read', () => {
    expect(credentialHeaders({ bearer: 't' })).toStrictEqual({ authorization: 'Bearer t' });
    expect(credentialHeaders({ apiKey: 'k' })).toStrictEqual({ 'x-cyber-token': 'k' });
    expect(credentialHeaders(undefined)).toStrictEqual({});
  });

  it('asks a credentials function each time', async () => {
    let n = 0;
    const source = (): { bearer: string } => ({ bearer: `t${++n}` });
    expect(await resolveCredentials(source)).toStrictEqual({ bearer: 't1' });
    expect(await resolveCredentials(source)).toStrictEqual({ bearer: 't2' });
  });
});
