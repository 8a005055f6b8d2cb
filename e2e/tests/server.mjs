// Starts `socle serve --demo` on a fresh data directory (port 0) with two demo users' tokens,
// and launches Debian's Chromium through playwright-core.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, '..', '..');
const bin = process.env.SOCLE_BIN || join(root, 'target', 'debug', 'socle');

export function token(dataDir, name, subject, role = 'member') {
  const out = execFileSync(bin, ['token', 'create', '--name', name, '--subject', subject, '--role', role,
    '--data-dir', dataDir, '-o', 'json'], { encoding: 'utf8' });
  return JSON.parse(out).secret;
}

/** Starts the server (on `listen`, with extra `args`); resolves to { url, tokens, stop }. */
export async function startServer({ listen = '127.0.0.1:0', args = [] } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'socle-e2e-'));
  mkdirSync(dataDir, { recursive: true });
  const child = spawn(bin, ['serve', '--demo', '--data-dir', dataDir, '--listen', listen, ...args],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  // The server's log is kept beside the screenshots, to read when a test fails.
  mkdirSync(join(root, 'e2e', 'screenshots'), { recursive: true });
  const logFile = createWriteStream(join(root, 'e2e', 'screenshots', 'server.log'));
  child.stderr.on('data', (d) => logFile.write(d));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('socle did not start in 120 s:\n' + log)), 120_000);
    child.stderr.on('data', (d) => {
      log += d.toString();
      // The whole address: stderr arrives in chunks, so wait for the space that ends it.
      const m = log.match(/serving \d+ entities on (http:\/\/[0-9.]+:\d+)\s/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`socle exited (${code}):\n${log}`)); });
  });
  // Tokens for two demo users, made with the CLI on the same store once the demo is loaded.
  const tokens = {
    // team-checkout owns cart-service; team-storefront does not.
    checkout: token(dataDir, 'e2e-sofia', 'user:default/sofia-marchetti'),
    storefront: token(dataDir, 'e2e-amara', 'user:default/amara-okafor'),
  };
  return { url, tokens, dataDir, stop: () => child.kill('SIGTERM') };
}

/** Launches Chromium (with the flags this machine needs) and checks that it reaches Socle. */
export async function launch(url) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  if (url) {
    const page = await browser.newPage();
    await page.goto(url + '/healthz');
    const body = ((await page.textContent('body')) || '').trim();
    await page.close();
    if (body !== 'ok') {
      await browser.close();
      throw new Error(`the browser does not reach Socle at ${url}: ${body.slice(0, 300)}`);
    }
  }
  return browser;
}

/** A screenshot helper writing to e2e/screenshots/<test>/NN-<step>.png. */
export function shooter(page, test) {
  const dir = join(root, 'e2e', 'screenshots', test);
  mkdirSync(dir, { recursive: true });
  let n = 0;
  return async (step, opts = {}) => {
    n += 1;
    const file = join(dir, `${String(n).padStart(2, '0')}-${step}.png`);
    await page.screenshot({ path: file, fullPage: true, ...opts });
    return file;
  };
}

export async function signIn(page, url, token) {
  await page.goto(url + '/signin');
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(url + '/');
}
