// A real OpenID provider for Socle's tests: `oidc-provider` (an OpenID Certified implementation)
// on 127.0.0.1, port 0. Configuration in the environment variable OIDC_TEST_CONFIG (JSON):
//   { "clients": [{ client_id, client_secret, redirect_uris, post_logout_redirect_uris }],
//     "accounts": { "<login>": { "email": "...", "groups": ["..."] } } }
// Prints one line of JSON, {"issuer": "http://127.0.0.1:PORT"}, once it listens.
//
// People sign in through the provider's own login form (devInteractions: any password); consent
// is granted by the provider for its registered clients. Test controls, outside the provider's
// routes:
//   POST /__test/mode?m=wrong-audience|expired|nonce|tampered  the NEXT ID token the token
//        endpoint issues is re-signed with the provider's own key after changing aud, exp/iat or
//        nonce — or, for `tampered`, has its claims changed WITHOUT re-signing;
//   POST /__test/rotate?alg=ES256|RS256  a new signing key (new kid) becomes the one in use; the
//        old one stays published.
import http from 'node:http';
import Provider from 'oidc-provider';
import * as jose from 'jose';

const config = JSON.parse(process.env.OIDC_TEST_CONFIG || '{}');
const keys = [];
let alg = 'RS256';
let mode = 'normal';
let provider;
let generation = 0;

async function newKey(a) {
  const { privateKey } = await jose.generateKeyPair(a, { extractable: true });
  const jwk = await jose.exportJWK(privateKey);
  generation += 1;
  return { ...jwk, kid: `key-${generation}-${a}`, alg: a, use: 'sig' };
}

function b64url(s) {
  return Buffer.from(s).toString('base64url');
}

/** Changes the ID token of a token endpoint answer as the test mode says. */
async function tamper(ctx) {
  const m = mode;
  mode = 'normal';
  const token = ctx.body.id_token;
  const claims = jose.decodeJwt(token);
  const header = jose.decodeProtectedHeader(token);
  const now = Math.floor(Date.now() / 1000);
  switch (m) {
    case 'wrong-audience': claims.aud = 'another-client'; break;
    case 'expired': claims.iat = now - 7200; claims.exp = now - 3600; break;
    case 'nonce': claims.nonce = 'not-the-nonce-of-this-login'; break;
    case 'tampered': {
      const [h, , sig] = token.split('.');
      claims.email = 'someone-else@example.com';
      ctx.body.id_token = [h, b64url(JSON.stringify(claims)), sig].join('.');
      return;
    }
    default: return;
  }
  const jwk = keys.find((k) => k.kid === header.kid);
  ctx.body.id_token = await new jose.SignJWT(claims)
    .setProtectedHeader({ alg: header.alg, kid: header.kid, typ: header.typ })
    .sign(await jose.importJWK(jwk, header.alg));
}

function build(issuer) {
  const accounts = config.accounts || {};
  const p = new Provider(issuer, {
    clients: (config.clients || []).map((c) => ({
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: alg,
      ...c,
    })),
    jwks: { keys },
    async findAccount(ctx, id) {
      const a = accounts[id];
      if (!a) return undefined;
      return {
        accountId: id,
        async claims() {
          return { sub: id, email: a.email, email_verified: true, groups: a.groups || [] };
        },
      };
    },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: [], groups: ['groups'] },
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    cookies: { keys: ['socle-test-cookie-key'] },
    // The provider's registered clients are first-party: no consent screen.
    async loadExistingGrant(ctx) {
      const { client, session, result } = ctx.oidc;
      const id = result?.consent?.grantId || session.grantIdFor(client.clientId);
      if (id) {
        const found = await ctx.oidc.provider.Grant.find(id);
        if (found) return found;
      }
      const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope('openid email profile groups');
      await grant.save();
      return grant;
    },
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  });
  p.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/token' && ctx.status === 200 && ctx.body?.id_token && mode !== 'normal') {
      await tamper(ctx);
    }
  });
  return p;
}

keys.push(await newKey(alg));
const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  if (req.method === 'POST' && url.pathname === '/__test/mode') {
    mode = url.searchParams.get('m') || 'normal';
    res.end(JSON.stringify({ mode }));
    return;
  }
  if (req.method === 'POST' && url.pathname === '/__test/rotate') {
    alg = url.searchParams.get('alg') || 'RS256';
    keys.unshift(await newKey(alg));
    provider = build(provider.issuer);
    res.end(JSON.stringify({ kid: keys[0].kid }));
    return;
  }
  provider.callback()(req, res);
});
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  provider = build(issuer);
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
