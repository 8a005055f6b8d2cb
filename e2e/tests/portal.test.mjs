// End-to-end tests of the portal in headless Chromium against `socle serve --demo`.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, shooter, signIn } from './server.mjs';

let server, browser;

before(async () => {
  server = await startServer();
  browser = await launch(server.url);
});

after(async () => {
  await browser?.close();
  server?.stop();
});

/** Content security policy refusals seen by any page: the portal must cause none. */
const refused = [];

async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  // A debug server on 2 cores beside the CLI tests of the same run can take long to answer a
  // first page: waits are bounded by 90 s, not Playwright's default 30 s.
  page.setDefaultTimeout(90_000);
  page.setDefaultNavigationTimeout(90_000);
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) refused.push(`${page.url()}: ${m.text()}`);
  });
  return page;
}

afterEach(() => {
  assert.deepEqual(refused, [], refused.join('\n'));
});

test('find a service by search, open it, read its docs and see its dependency graph', async () => {
  const page = await newPage();
  const shot = shooter(page, 'search-open-docs-graph');
  const { url } = server;
  await page.goto(url + '/catalog');
  await shot('catalog');
  // Search as you type: no submit, the results update in place.
  await page.getByRole('searchbox', { name: 'Search the catalog' }).pressSequentially('cart', { delay: 40 });
  const hit = page.locator('#live a.name', { hasText: 'Cart Service' });
  await hit.waitFor();
  assert.match(page.url(), /q=cart/, 'the address follows the search');
  assert.ok(await page.locator('#count').textContent() !== '');
  await shot('search-cart');
  // Clicking a result blurs the box (a `change`): the search is not asked again, so no list is
  // swapped under the click while the browser follows the link.
  const asked = [];
  page.on('request', (r) => { if (r.url().includes('fragment=1')) asked.push(r.url()); });
  await hit.click();
  await page.waitForURL(/\/catalog\/component\/default\/cart-service$/);
  assert.deepEqual(asked, [], 'no search fetched on the click');
  assert.equal(await page.locator('h1').textContent(), 'Cart Service');
  // The dependency graph: an SVG with the owner, system, APIs and resource as nodes.
  const graph = page.locator('svg.graph');
  await graph.waitFor();
  const graphText = await graph.textContent();
  for (const name of ['cart-service', 'team-checkout', 'checkout', 'cart-api', 'pricing-api', 'cart-cache']) {
    assert.ok(graphText.includes(name), `graph shows ${name}`);
  }
  const box = await graph.boundingBox();
  assert.ok(box.width > 400 && box.height > 200, 'the graph is drawn at a readable size');
  await shot('entity');
  await graph.screenshot({ path: (await shot('entity-again')).replace('entity-again', 'graph') });
  // The docs, rendered from the repository's docs/ folder.
  await page.getByRole('link', { name: 'Read the docs' }).click();
  await page.waitForURL(/\/docs$/);
  const article = page.locator('article');
  assert.equal(await article.locator('h1').textContent(), 'Cart Service');
  assert.equal(await article.locator('table').count(), 1, 'the SLO table is rendered');
  assert.ok((await article.locator('pre code').textContent()).includes('socle deploy'));
  const imgOk = await article.locator('img').evaluate((img) => img.complete && img.naturalWidth > 0);
  assert.ok(imgOk, 'the relative image loads');
  await shot('docs');
  await article.getByRole('link', { name: 'Cart API' }).click();
  await page.waitForURL(/\/docs\/api\.md/);
  assert.equal(await page.locator('article h1').textContent(), 'Cart API');
  await shot('docs-api-page');
});

test('a mutation signed out is refused', async () => {
  const page = await newPage();
  const shot = shooter(page, 'signed-out-refused');
  const { url } = server;
  // No promote or rollback buttons for a visitor.
  await page.goto(url + '/catalog/component/default/cart-service');
  assert.equal(await page.locator('form[action="/deployments/promote"]').count(), 0);
  // The golden-path form can be read, but sending it asks to sign in.
  await page.goto(url + '/create/rust-axum-service');
  assert.ok((await page.locator('.notice').first().textContent()).includes('Sign in'));
  await page.locator('#f-name').fill('sneaky-service');
  await page.locator('#f-description').fill('Should not be created');
  await page.locator('#f-owner').fill('team-checkout');
  await page.getByRole('button', { name: 'Next' }).click();
  await page.locator('#f-repoUrl').fill('https://github.com/northwind/sneaky-service');
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Create' }).click(),
  ]);
  assert.equal(response.status(), 401);
  await page.waitForLoadState();
  assert.equal(await page.locator('h1').textContent(), 'Sign in needed');
  await shot('refused');
  // A forged POST without a session is refused too, and nothing was created.
  const r = await page.request.post(url + '/deployments/promote', {
    form: { service: 'cart-service', from: 'dev', to: 'prod' }, maxRedirects: 0,
  });
  assert.equal(r.status(), 401);
  const entity = await page.request.get(url + '/api/v1/entities/component/default/sneaky-service');
  assert.equal(entity.status(), 404);
});

test('create a service through the golden-path form, deploy it, see the deployment and DORA change', async () => {
  const page = await newPage();
  const shot = shooter(page, 'golden-path-deploy-dora');
  const { url, tokens } = server;
  await signIn(page, url, tokens.checkout);
  assert.ok((await page.locator('h1').textContent()).includes('sofia-marchetti'));
  await shot('home-signed-in');
  await page.goto(url + '/create');
  await shot('golden-paths');
  await page.getByRole('link', { name: 'Choose Rust service (axum)' }).click();
  // Page 1 of the form (multi-page: one step at a time with JavaScript).
  await page.locator('#f-name').fill('parcel-tracker');
  await page.locator('#f-description').fill('Tracks parcels from the warehouse to the door');
  await page.locator('#f-owner').fill('team-checkout');
  await page.locator('#f-system').fill('checkout');
  await page.locator('#f-lifecycle').selectOption('production');
  await shot('form-page-1');
  await page.getByRole('button', { name: 'Next' }).click();
  await page.locator('#f-repoUrl').fill('https://github.com/northwind/parcel-tracker');
  assert.ok(await page.locator('#f-deployToDev').isChecked(), 'deploy to dev by default');
  await shot('form-page-2');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.waitForURL(/\/create\/runs\/run-\d+$/);
  assert.match(await page.locator('h1').textContent(), /completed/);
  const log = await page.locator('pre.log').textContent();
  assert.ok(log.includes('[publish]') && log.includes('[deploy]'), 'the run log shows each step');
  await shot('run-completed');
  // The new service is in the catalog, deployed to dev.
  await page.getByRole('link', { name: 'Open parcel-tracker in the catalog' }).click();
  await page.waitForURL(/\/catalog\/component\/default\/parcel-tracker$/);
  const devRow = page.locator('#deployments ~ table tr', { hasText: 'dev' }).first();
  await page.locator('h2#deployments').waitFor();
  const table = page.locator('section[aria-labelledby="deployments"] table').first();
  const dev = table.locator('tr', { has: page.locator('th', { hasText: /^dev$/ }) });
  assert.ok((await dev.textContent()).includes('0.1.0'), 'dev runs version 0.1.0');
  assert.ok(devRow);
  const tile = page.locator('.tile', { hasText: 'Deployment frequency' });
  assert.ok((await tile.textContent()).includes('0 production deploys'));
  await shot('deployed-to-dev');
  // Promote through staging to prod: the production deploy shows in the DORA tiles.
  await page.getByRole('button', { name: 'Promote to staging' }).click();
  await page.waitForURL(/#deployments$/);
  await page.getByRole('button', { name: 'Promote to prod' }).click();
  await page.waitForURL(/#deployments$/);
  const prod = table.locator('tr', { has: page.locator('th', { hasText: /^prod$/ }) });
  assert.ok((await prod.textContent()).includes('0.1.0'), 'prod runs version 0.1.0');
  assert.ok((await page.locator('.tile', { hasText: 'Deployment frequency' }).textContent()).includes('1 production deploys'));
  await shot('promoted-to-prod');
  // The deployments page and the DORA dashboard for the service.
  await page.goto(url + '/deployments?env=prod');
  const board = page.getByRole('table', { name: /current version per environment/ });
  const row = board.locator('tr', { has: page.locator('th', { hasText: /^parcel-tracker$/ }) });
  assert.equal((await row.locator('td strong').allTextContents()).length, 3, 'dev, staging and prod');
  const history = page.locator('main table').nth(1);
  assert.ok((await history.textContent()).includes('parcel-tracker'), 'the prod history lists it');
  await shot('deployments-prod');
  await page.goto(url + '/dora?scope=service&name=parcel-tracker');
  assert.ok((await page.locator('.tile', { hasText: 'Deployment frequency' }).textContent()).includes('1 production deploys'));
  assert.equal(await page.locator('svg.chart').count(), 4, 'four weekly trend charts');
  await shot('dora-service');
});

test('a member of another team sees no deploy buttons and is refused', async () => {
  const page = await newPage();
  const shot = shooter(page, 'other-team-refused');
  const { url, tokens } = server;
  await signIn(page, url, tokens.storefront);
  await page.goto(url + '/catalog/component/default/parcel-tracker');
  assert.equal(await page.locator('form[action="/deployments/promote"]').count(), 0);
  // Even a hand-made form with her valid CSRF token is refused.
  const csrf = await page.locator('input[name=csrf]').first().inputValue();
  const r = await page.request.post(url + '/deployments/rollback', {
    form: { service: 'parcel-tracker', environment: 'prod', csrf }, maxRedirects: 0,
  });
  assert.equal(r.status(), 403);
  const text = await r.text();
  assert.ok(text.includes('amara-okafor is not a member of'), text.slice(0, 2000));
  await page.goto(url + '/dora');
  await shot('dora-organisation');
});
