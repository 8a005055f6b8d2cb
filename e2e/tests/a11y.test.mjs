// Accessibility: axe-core's WCAG 2 A/AA rules on the main pages (labels, landmarks, contrast,
// names of links and buttons…), and keyboard navigation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startServer, launch, shooter, signIn } from './server.mjs';

const require = createRequire(import.meta.url);
const axePath = require.resolve('axe-core/axe.min.js');
let server, browser;

before(async () => {
  server = await startServer();
  browser = await launch(server.url);
});

after(async () => {
  await browser?.close();
  server?.stop();
});

async function violations(page) {
  await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }));
  return result.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
}

test('the main pages pass axe-core WCAG 2.1 A/AA checks', async () => {
  // axe-core is injected as a script: this context lets it past the content security policy
  // (the portal tests check that the policy refuses nothing the portal itself uses).
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
  const page = await context.newPage();
  const { url, tokens } = server;
  await signIn(page, url, tokens.checkout);
  const pages = [
    '/', '/catalog', '/catalog?q=cart', '/catalog/component/default/cart-service',
    '/catalog/component/default/cart-service/docs', '/catalog/api/default/cart-api',
    '/catalog/group/default/team-checkout', '/teams', '/create', '/create/rust-axum-service',
    '/deployments', '/dora', '/signin',
  ];
  const found = [];
  for (const p of pages) {
    await page.goto(url + p);
    for (const v of await violations(page)) found.push(`${p}: ${v}`);
  }
  assert.deepEqual(found, [], found.join('\n'));
});

test('the keyboard reaches the content and the search', async () => {
  const page = await browser.newPage();
  const shot = shooter(page, 'keyboard');
  await page.goto(server.url + '/catalog');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
  await shot('skip-link-focused');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'main');
  // From the main landmark, Tab reaches the search box first.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'q');
  await page.keyboard.type('checkout');
  await page.locator('#live a.name', { hasText: 'Checkout Service' }).waitFor();
  await shot('typed-search');
});
