// The OpenID Connect provider the tests sign citizens in with: panva's oidc-provider (the npm
// package, certified by the OpenID Foundation) on loopback, standing in for a province's unified
// identity service. It issues real ID tokens signed with its own RSA key, published at its
// jwks_uri; the app under test finds everything through discovery.
//
//   node tests/oidc/provider.mjs CONFIG.json
//
// CONFIG.json: {"port": 0, "clients": [{"client_id", "client_secret", "redirect_uris",
// "fault"?}], "accounts": {"login": {"password", "claims": {...}}}}. Once listening it prints
// one line of JSON, {"issuer": "http://127.0.0.1:PORT"}, and serves until SIGTERM.
//
// A client's "fault" makes the provider misbehave for that client only, the way a real
// deployment can: "expired" issues ID tokens that expired an hour ago (its clock runs two hours
// behind while it signs them), "foreign" issues ID tokens addressed to another site ("another-site"), as a
// token from a shared identity service's other relying party would be, and "badsig" issues ID
// tokens whose signature does not verify against the provider's published keys (altered on
// the way).
//
// The login and consent pages are ours (oidc-provider's development pages load web fonts from
// the internet); they need no script.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider, { errors } from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const accounts = config.accounts || {};
const faults = Object.fromEntries((config.clients || []).map((c) => [c.client_id, c.fault]));

function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: `test-${randomBytes(4).toString('hex')}`,
    use: 'sig', alg: 'RS256' };
}

const escape = (value) => String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title>
<style>body{font-family:sans-serif;max-width:26rem;margin:2rem auto;padding:0 1rem}
label{display:block;margin:.6rem 0}input{font-size:1rem;width:100%}button{font-size:1rem;margin:.6rem .4rem 0 0}
.error{color:#b00}</style></head>
<body><h1>省统一身份认证平台 (test)</h1><h2>${escape(title)}</h2>${body}</body></html>`;
}

function loginPage(uid, login = '', error = '') {
  return page('Sign in', `
${error ? `<p class="error" id="login-error">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login" autocomplete="off">
  <label>Login <input name="login" id="login" value="${escape(login)}" required autofocus></label>
  <label>Password <input name="password" id="password" type="password" required></label>
  <button type="submit" id="sign-in">Sign in</button>
  <a href="/interaction/${escape(uid)}/abort" id="cancel">Cancel</a>
</form>`);
}

function consentPage(uid, clientId, details) {
  const scopes = (details.missingOIDCScope || []).filter((s) => s !== 'openid');
  const claims = (details.missingOIDCClaims || []);
  return page('Allow access', `
<p>The site <b id="client">${escape(clientId)}</b> asks to see:</p>
<ul id="scopes">${[...scopes, ...claims].map((s) => `<li>${escape(s)}</li>`).join('')}</ul>
<form method="post" action="/interaction/${escape(uid)}/confirm">
  <button type="submit" id="allow">Allow</button>
  <a href="/interaction/${escape(uid)}/abort" id="deny">Deny</a>
</form>`);
}

async function formBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 65536) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const server = createServer();
server.listen(config.port || 0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: (config.clients || []).map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      redirect_uris: c.redirect_uris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    jwks: { keys: [signingKey()] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    pkce: { required: () => true },  // a client that skips PKCE is refused
    claims: {
      openid: ['sub'],
      profile: ['name', 'nickname'],
      phone: ['phone_number', 'phone_number_verified'],
      email: ['email', 'email_verified'],
    },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: { IdToken: 3600 },
    async findAccount(ctx, id) {
      if (!Object.hasOwn(accounts, id)) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...accounts[id].claims }) };
    },
  });

  // "expired": signed by a clock two hours slow; "foreign": the ID token names another
  // audience (everything else, the signature included, is the provider's own); "badsig": one
  // character of the signature changed.
  const issue = provider.IdToken.prototype.issue;
  provider.IdToken.prototype.issue = async function issueMaybeFaulty(options) {
    const fault = options?.use === 'idtoken' ? faults[this.client?.clientId] : undefined;
    if (fault === 'expired') {
      const realNow = Date.now;
      Date.now = () => realNow() - 2 * 3600 * 1000;
      try {
        return await issue.call(this, options);
      } finally {
        Date.now = realNow;
      }
    }
    if (fault === 'badsig') {
      const token = await issue.call(this, options);
      const last = token.at(-2) === 'A' ? 'B' : 'A';
      return `${token.slice(0, -2)}${last}${token.at(-1)}`;
    }
    if (fault !== 'foreign') return issue.call(this, options);
    const real = this.client;
    this.client = Object.create(real, { clientId: { value: 'another-site' } });
    try {
      return await issue.call(this, options);
    } finally {
      this.client = real;
    }
  };

  provider.use(async (ctx, next) => {
    const match = ctx.path.match(/^\/interaction\/([\w-]+)(?:\/(login|confirm|abort))?$/);
    if (!match) return next();
    ctx.set('cache-control', 'no-store');
    const [, uid, action] = match;
    try {
      const details = await provider.interactionDetails(ctx.req, ctx.res);
      if (details.uid !== uid) ctx.throw(400, 'interaction mismatch');
      const { prompt, params, session } = details;
      if (!action && ctx.method === 'GET') {
        ctx.type = 'html';
        ctx.body = prompt.name === 'login' ? loginPage(uid)
          : consentPage(uid, params.client_id, prompt.details);
        return undefined;
      }
      if (action === 'abort' && ctx.method === 'GET') {
        return provider.interactionFinished(ctx.req, ctx.res, {
          error: 'access_denied', error_description: 'The citizen cancelled the sign-in.',
        }, { mergeWithLastSubmission: false });
      }
      if (action === 'login' && ctx.method === 'POST' && prompt.name === 'login') {
        const form = await formBody(ctx.req);
        const login = form.get('login') || '';
        const account = Object.hasOwn(accounts, login) ? accounts[login] : null;
        if (!account || account.password !== form.get('password')) {
          ctx.status = 401;
          ctx.type = 'html';
          ctx.body = loginPage(uid, login, 'Wrong login or password.');
          return undefined;
        }
        return provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: login } },
          { mergeWithLastSubmission: false });
      }
      if (action === 'confirm' && ctx.method === 'POST' && prompt.name === 'consent') {
        const grant = details.grantId ? await provider.Grant.find(details.grantId)
          : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
        if (prompt.details.missingOIDCScope) {
          grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
        }
        if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
        const grantId = await grant.save();
        return provider.interactionFinished(ctx.req, ctx.res,
          { consent: details.grantId ? {} : { grantId } }, { mergeWithLastSubmission: true });
      }
      ctx.throw(405, 'not here');
    } catch (err) {
      if (err instanceof errors.SessionNotFound) {
        ctx.status = 400;
        ctx.type = 'html';
        ctx.body = page('Sign-in expired', '<p id="expired">Please start again.</p>');
        return undefined;
      }
      throw err;
    }
    return undefined;
  });

  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.closeAllConnections();
    process.exit(0);
  });
}
