// Single sign-on in headless Chromium: a person signs in through a REAL OpenID provider
// (oidc-provider, started here from e2e/oidc/provider.mjs) and lands on their teams' home page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, shooter, startServer } from './server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
let provider, server, browser;

/** A free port on 127.0.0.1 (Socle's redirect URL must be known before it starts). */
function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function startProvider(config) {
  const child = spawn(process.execPath, [join(here, '..', 'oidc', 'provider.mjs')],
    { env: { ...process.env, OIDC_TEST_CONFIG: JSON.stringify(config) }, stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n')) resolve({ issuer: JSON.parse(line).issuer, stop: () => child.kill('SIGTERM') });
    });
    child.on('exit', (code) => reject(new Error(`the provider exited (${code})`)));
  });
}

before(async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  provider = await startProvider({
    clients: [{ client_id: 'socle', client_secret: 'e2e-secret', redirect_uris: [`${base}/auth/oidc/callback`],
      post_logout_redirect_uris: [`${base}/`] }],
    accounts: { sofia: { email: 'sofia.marchetti@northwind.example' } },
  });
  const secretFile = join(mkdtempSync(join(tmpdir(), 'socle-oidc-')), 'client-secret');
  writeFileSync(secretFile, 'e2e-secret\n');
  server = await startServer({
    listen: `127.0.0.1:${port}`,
    args: ['--oidc-issuer', provider.issuer, '--oidc-client-id', 'socle', '--oidc-client-secret-file', secretFile,
      '--oidc-redirect-url', `${base}/auth/oidc/callback`, '--oidc-provider-name', 'Northwind SSO'],
  });
  browser = await launch(server.url);
});

after(async () => {
  await browser?.close();
  server?.stop();
  provider?.stop();
});

test('sign in through the OpenID provider and land on my teams home page, then sign out', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(90_000);
  page.setDefaultNavigationTimeout(90_000);
  const shot = shooter(page, 'oidc-sign-in');
  const { url } = server;
  await page.goto(url + '/signin');
  await shot('signin');
  await page.getByRole('link', { name: 'Sign in with Northwind SSO' }).click();
  // The provider's own login form.
  await page.waitForURL(new RegExp(`^${provider.issuer}/interaction/`));
  await page.locator('input[name="login"]').fill('sofia');
  await page.locator('input[name="password"]').fill('any password');
  await shot('provider-login');
  await page.locator('button[type="submit"]').click();
  await page.waitForURL(url + '/');
  await shot('home');
  const who = await page.locator('.who .user').textContent();
  assert.equal(who.trim(), 'user:default/sofia-marchetti · member');
  const main = await page.locator('main').textContent();
  assert.ok(main.includes('team-checkout'), 'her team on her home page');
  // Her own API tokens.
  await page.getByRole('link', { name: 'Tokens' }).click();
  await page.getByLabel('Name').fill('laptop');
  await page.getByRole('button', { name: 'Create token' }).click();
  assert.match(await page.locator('#new-token').textContent(), /^socle_/);
  await shot('token-created');
  // Signing out ends the provider's session too (RP-initiated logout): the provider asks.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('link', { name: 'Sign out of Northwind SSO too' }).click();
  await page.waitForURL(new RegExp(`^${provider.issuer}/session/end`));
  await shot('provider-logout');
  await page.locator('button[autofocus], button[type="submit"]').first().click();
  await page.waitForURL(url + '/');
  assert.equal(await page.locator('.who a[href="/signin"]').textContent(), 'Sign in');
  await context.close();
});
