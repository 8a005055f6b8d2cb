// A survey answered in headless Chromium by several people of the demo organisation, then its
// results: per team only past the threshold, no names anywhere.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, launch, shooter, signIn, token, root } from './server.mjs';

const SURVEY = `apiVersion: socle.dev/v1alpha1
kind: Survey
metadata: {name: pulse, title: Platform pulse}
spec:
  opens: 2020-01-06
  closes: 2099-12-31
  threshold: 3
  questions:
    - {id: flow, type: likert, text: "I can focus on my work."}
    - {id: recommend, type: enps, text: "Would you recommend the platform?"}
    - {id: used, type: multiple, options: [Portal, CLI, API], text: "What do you use?"}
    - {id: wish, type: text, text: "What should we improve?"}
`;

// team-platform (4 people), team-orders (3), team-storefront (1).
const PEOPLE = [
  ['marta-kowalska', 5, 10], ['ethan-brooks', 4, 9], ['nadia-rahman', 4, 8], ['emma-virtanen', 3, 6],
  ['fatima-benali', 2, 3], ['oliver-grant', 3, 7], ['ingrid-solberg', 4, 9],
  ['amara-okafor', 1, 0],
];

let server, browser;

before(async () => {
  // The shipped platform configuration plus one survey.
  const platform = mkdtempSync(join(tmpdir(), 'socle-e2e-platform-'));
  cpSync(join(root, 'crates', 'socle-platform', 'defaults'), platform, { recursive: true });
  mkdirSync(join(platform, 'surveys'));
  writeFileSync(join(platform, 'surveys', 'pulse.yaml'), SURVEY);
  server = await startServer({ args: ['--platform', platform] });
  browser = await launch(server.url);
});

after(async () => {
  await browser?.close();
  server?.stop();
});

async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(90_000);
  page.setDefaultNavigationTimeout(90_000);
  return page;
}

test('several people answer a survey; results per team only past the threshold, without names', async () => {
  const { url } = server;
  for (const [i, [name, flow, recommend]] of PEOPLE.entries()) {
    const page = await newPage();
    const shot = shooter(page, `survey-${String(i).padStart(2, '0')}-${name}`);
    await signIn(page, url, token(server.dataDir, `e2e-${name}`, `user:default/${name}`));
    await page.goto(url + '/surveys');
    await page.getByRole('row', { name: /Platform pulse/ }).getByRole('link', { name: 'Answer' }).click();
    await page.waitForURL(url + '/surveys/pulse');
    if (i === 0) {
      // A required question left out (the browser's own check switched off): the server sends
      // the form back with the problem and the answers kept.
      await page.locator('form#survey-form').evaluate((f) => { f.noValidate = true; });
      await page.locator('input[name=flow][value="4"]').check();
      await page.locator('form#survey-form button[type=submit]').click();
      await page.getByRole('alert').waitFor();
      assert.match(await page.getByRole('alert').textContent(), /recommend: an answer is required/);
      assert.ok(await page.locator('input[name=flow][value="4"]').isChecked(), 'the answer is kept');
      await shot('form-with-problem');
    }
    await page.locator(`input[name=flow][value="${flow}"]`).check();
    await page.locator(`input[name=recommend][value="${recommend}"]`).check();
    await page.getByLabel('CLI').check();
    if (i % 2 === 0) await page.getByLabel('API').check();
    await page.locator('textarea[name=wish]').fill(`Idea number ${i}: faster builds`);
    await shot('form');
    await page.locator('form#survey-form button[type=submit]').click();
    await page.locator('#answered').waitFor();
    assert.match(await page.locator('#answered').textContent(), /recorded, without your name/);
    // Once per round: the form is not offered again.
    await page.goto(url + '/surveys/pulse');
    assert.match(await page.locator('main').textContent(), /You answered round 2020-01-06/);
    await page.context().close();
  }

  const page = await newPage();
  const shot = shooter(page, 'survey-results');
  await page.goto(url + '/surveys/pulse/results');
  const groups = page.locator('section.survey-group');
  const text = async (n) => (await groups.nth(n).innerText()).replace(/\s+/g, ' ');
  // organisation, team-orders, team-platform, team-storefront (by name).
  assert.equal(await groups.count(), 4);
  assert.match(await text(0), /organisation 8 respondents/);
  // Likert: 5,4,4,3,2,3,4,1 → mean 3.25.
  assert.match(await text(0), /Mean 3\.25 of 5/);
  // eNPS: promoters 10,9,9 (3/8), detractors 6,3,0 (3/8) → 0.
  assert.match(await text(0), /eNPS 0 /);
  // team-storefront (1 answer) is hidden, and team-orders (3) with it, or the organisation
  // minus team-platform would be storefront's answer.
  assert.match(await text(1), /team-orders Not enough answers/);
  assert.match(await text(2), /team-platform 4 respondents/);
  assert.match(await text(3), /team-storefront Not enough answers/);
  assert.equal(await groups.nth(0).locator('svg.bars').count() >= 3, true, 'charts drawn');
  const all = await page.locator('main').textContent();
  for (const [name] of PEOPLE) assert.ok(!all.includes(name), `${name} is not on the page`);
  assert.ok(all.includes('Idea number 7: faster builds'), 'free text shown');
  await shot('results');
});

test('feedback sent from a golden path page is listed to its author with its status', async () => {
  const { url } = server;
  const page = await newPage();
  const shot = shooter(page, 'feedback');
  await signIn(page, url, server.tokens.checkout);
  await page.goto(url + '/create/rust-axum-service');
  await page.getByText('Feedback on this page').click();
  await page.locator('input[name=rating][value="2"]').check();
  await page.locator('#fb-comment').fill('The owner field could default to my team.');
  await shot('control');
  await page.getByRole('button', { name: 'Send feedback' }).click();
  await page.locator('#feedback-sent').waitFor();
  assert.match(await page.locator('#feedback-sent').innerText(), /\/create\/rust-axum-service/);
  await page.getByRole('link', { name: 'Follow its status' }).click();
  await page.waitForURL(url + '/feedback');
  const row = page.locator('#feedback tbody tr').first();
  const text = (await row.innerText()).replace(/\s+/g, ' ');
  assert.match(text, /golden path rust-axum-service/);
  assert.match(text, /2 \/ 5/);
  assert.match(text, /The owner field could default to my team\. new/);
  await shot('list');
  await page.context().close();
});
