// The adoption and impact report in headless Chromium, on the demo organisation: charts and
// their tables, the adopting teams' before/after figures, the print stylesheet, the JSON
// export; a team's details for its members and admins only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, shooter, signIn, token } from './server.mjs';

let server, browser, adminToken;

before(async () => {
  server = await startServer();
  browser = await launch(server.url);
  adminToken = token(server.dataDir, 'e2e-adoption-admin', 'serviceaccount:e2e-admin', 'admin');
});

after(async () => {
  await browser?.close();
  server?.stop();
});

async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(90_000);
  page.setDefaultNavigationTimeout(90_000);
  return page;
}

/** The report's JSON through the page's own session (its cookie). */
async function exported(page) {
  const res = await page.request.get(server.url + '/adoption.json');
  assert.equal(res.status(), 200);
  assert.match(res.headers()['content-type'], /application\/json/);
  return JSON.parse(await res.text());
}

test('the adoption report: charts, tables, the demo teams before and after, print, JSON', async () => {
  const { url } = server;
  const page = await newPage();
  const shot = shooter(page, 'adoption-admin');
  await signIn(page, url, adminToken);
  await page.goto(url + '/adoption');
  await page.getByRole('heading', { level: 1, name: 'Adoption and impact' }).waitFor();

  // Four weekly line charts (golden path, deployed, docs, SLOs), each of a readable size.
  const charts = page.locator('.report figure svg.chart');
  assert.equal(await charts.count(), 4);
  for (const svg of await charts.all()) {
    const box = await svg.boundingBox();
    assert.ok(box && box.width >= 300 && box.height >= 120, `chart size ${JSON.stringify(box)}`);
    assert.ok((await svg.locator(':scope > title').textContent()).length > 0, 'the chart has a title');
  }
  // Their figures as a table: one row per week of the 90 days (13 or 14), the current week
  // from the catalog now.
  const weeks = page.locator('table#adoption-weekly tbody tr');
  const n = await weeks.count();
  assert.ok(n >= 13 && n <= 14, `${n} weeks`);
  assert.match(await weeks.nth(n - 1).textContent(), /the catalog now/);
  const head = await page.locator('table#adoption-weekly thead').textContent();
  for (const col of ['Services', 'From a golden path', 'Deployed through Socle', 'With docs', 'With SLOs']) {
    assert.ok(head.includes(col), `column ${col}: ${head}`);
  }
  // Golden-path runs of the demo's adopting teams, and the impact tally over the four keys.
  assert.ok(await page.locator('table#adoption-templates tbody tr').count() >= 1);
  assert.equal(await page.locator('table#impact-summary tbody tr').count(), 4);
  assert.match(await page.locator('.report').textContent(), /\d+ of \d+ teams have adopted Socle; 4 can be compared before and after/);

  // The four adopting teams each show their DORA keys before and after, with caveats.
  const compared = page.locator('article.team-impact', { hasText: 'Compared:' });
  assert.equal(await compared.count(), 4);
  for (const team of await compared.all()) {
    const rows = team.locator('table tbody tr');
    assert.equal(await rows.count(), 4);
    const freq = await rows.first().locator('td').allTextContents();
    assert.equal(freq[0], 'Deployment frequency (per day)');
    assert.ok(Number.isFinite(Number(freq[1])) && Number.isFinite(Number(freq[2])), `before/after: ${freq}`);
    assert.ok(await team.locator('ul.caveats li').count() >= 1, 'caveats are printed');
  }
  await shot('screen');

  // Printed: the navigation, the export link and the feedback control are hidden, the report
  // stays; back on screen they return.
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.locator('header.top').isVisible(), false);
  assert.equal(await page.locator('.report a.no-print').isVisible(), false);
  assert.equal(await page.locator('details.feedback').isVisible(), false);
  assert.ok(await page.locator('table#impact-summary').isVisible());
  assert.equal(await charts.first().isVisible(), true);
  await shot('print');
  await page.emulateMedia({ media: 'screen' });
  assert.ok(await page.locator('.report a.no-print').isVisible());

  // The export is the page's report: the same weeks and teams.
  const json = await exported(page);
  assert.equal(json.adoption.weekly.length, n);
  assert.equal(json.adoption.weekly.at(-1).counted_from, 'live');
  assert.equal(json.teams.filter((t) => t.before && t.after).length, 4);
  assert.equal(json.impact.compared, 4);
  await page.context().close();
});

test('a member of another team sees the organisation, not that team\'s details', async () => {
  const { url } = server;
  const admin = await newPage();
  await signIn(admin, url, adminToken);
  const all = await exported(admin);
  await admin.context().close();

  const page = await newPage();
  const shot = shooter(page, 'adoption-member');
  await signIn(page, url, server.tokens.storefront);
  await page.goto(url + '/adoption');
  await page.getByRole('heading', { level: 1, name: 'Adoption and impact' }).waitFor();
  const mine = await exported(page);
  // The organisation's figures are the same for everyone signed in.
  assert.deepEqual(mine.adoption.now, all.adoption.now);
  assert.deepEqual(mine.impact, all.impact);
  // Details only of the teams the member belongs to (or is above): the page shows exactly those.
  const shown = await page.locator('article.team-impact h3').allTextContents();
  assert.deepEqual(shown, mine.teams.map((t) => t.team));
  assert.ok(mine.teams.length < all.teams.length, 'fewer teams than the admin sees');
  // Every adopting team the member does not belong to: 403 on its details; their own: 200.
  const own = new Set(mine.teams.map((t) => t.team));
  let refused = 0;
  for (const t of all.teams.filter((t) => t.adopted_at)) {
    const res = await page.request.get(`${url}/api/v1/adoption/teams/${t.team.split('/').pop()}`, {
      headers: { authorization: `Bearer ${server.tokens.storefront}` },
    });
    assert.equal(res.status(), own.has(t.team) ? 200 : 403, t.team);
    if (!own.has(t.team)) refused += 1;
  }
  assert.ok(refused >= 1, 'at least one adopting team is another team');
  await shot('member');
  await page.context().close();

  // Not signed in: the page asks to sign in, the export is refused.
  const anon = await newPage();
  await anon.goto(url + '/adoption');
  assert.match(await anon.locator('main').textContent(), /Sign in to see the adoption report/);
  const res = await anon.request.get(url + '/adoption.json');
  assert.notEqual(res.status(), 200);
  await anon.context().close();
});
