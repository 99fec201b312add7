// A real OpenID Provider for tests/api/oidc.rs: the certified `oidc-provider`
// package (pinned in package-lock.json), on 127.0.0.1 at a free port.
//
// It prints `port <n>` once listening, then reads one line from stdin: the
// redirect URI of the server under test (only known once that server is up).
// Then it registers two confidential clients with that redirect URI,
// `mediadesk` and `other` (secret `<id>-secret`), and prints `ready`.
//
// Login without a browser: the interaction page signs in the account named by
// the authorization request's `login_hint` (default `alice`) at once; consent
// for openid/email/profile is granted to every client (first-party). An
// account `<name>` has the e-mail `<name>@example.org`, verified unless the
// name starts with `unverified`.
//
// It signs with an RSA key of its own (a new key id each start); a later
// stdin line `rotate` replaces it with a new key (the old one gone from its
// JWKS, as after a provider's key rotation) and prints `rotated`.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import http from 'node:http';
import readline from 'node:readline';
import Provider from 'oidc-provider';

const server = http.createServer((req, res) => {
  if (!handler) {
    res.writeHead(503);
    res.end('not ready');
    return;
  }
  handler(req, res);
});
let handler = null;

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  console.log(`port ${port}`);
  const rl = readline.createInterface({ input: process.stdin });
  let redirectUri = null;
  rl.on('line', (line) => {
    if (redirectUri === null) {
      redirectUri = line.trim();
      handler = build(`http://127.0.0.1:${port}`, redirectUri, signingKey());
      console.log('ready');
    } else if (line.trim() === 'rotate') {
      handler = build(`http://127.0.0.1:${port}`, redirectUri, signingKey());
      console.log('rotated');
    }
  });
});

function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };
}

function build(issuer, redirectUri, key) {
  const client = (id) => ({
    client_id: id,
    client_secret: `${id}-secret`,
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  });
  const provider = new Provider(issuer, {
    clients: [client('mediadesk'), client('other')],
    jwks: { keys: [key] },
    cookies: { keys: ['mediadesk-test-cookie-key'] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    // Claims in the ID token (as Google's and most providers' are), not only
    // at the userinfo endpoint.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false } },
    async findAccount(ctx, id) {
      return {
        accountId: id,
        async claims() {
          return {
            sub: id,
            email: `${id}@example.org`,
            email_verified: !id.startsWith('unverified'),
            name: `Reader ${id}`,
          };
        },
      };
    },
    async loadExistingGrant(ctx) {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid email profile');
      grant.addOIDCClaims(['email', 'email_verified', 'name']);
      await grant.save();
      return grant;
    },
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  const callback = provider.callback();
  return async (req, res) => {
    const m = req.url.match(/^\/interaction\/([^/?]+)/);
    if (!m || req.method !== 'GET') {
      callback(req, res);
      return;
    }
    try {
      const details = await provider.interactionDetails(req, res);
      const account = details.params.login_hint || 'alice';
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: account } },
        { mergeWithLastSubmission: false },
      );
    } catch (err) {
      console.error('interaction', err);
      res.writeHead(400);
      res.end(String(err));
    }
  };
}
