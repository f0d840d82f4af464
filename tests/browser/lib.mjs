// Shared helpers for the dashboard's browser scenarios. Each scenario is a script that
// tests/dashboard.rs runs with the hub's URL and credentials in the environment; it exits 0
// when every check held, and non-zero with the reason otherwise.
//
// The browser is Debian's Chromium (/usr/bin/chromium, from scripts/services); playwright-core
// only drives it and never downloads one.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is not set`);
  return v;
};

export const hub = () => env('HUB_URL');

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
}

/// Saves `<artifacts>/<scenario>-<step>.png`.
export function screenshotter(scenario) {
  const dir = env('ARTIFACTS');
  mkdirSync(dir, { recursive: true });
  return async (page, step) => {
    const path = join(dir, `${scenario}-${step}.png`);
    await page.screenshot({ path, fullPage: true });
    console.log(`screenshot: ${path}`);
  };
}

export function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
  console.log(`ok: ${what}`);
}

/// Logs in on a fresh page of `context`; returns the page, on the overview.
export async function login(context, username, password) {
  const page = await context.newPage();
  await page.goto(`${hub()}/dashboard/login`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(`${hub()}/dashboard`), page.click('button[type=submit]')]);
  check((await page.textContent('#whoami')).includes(username), `${username} is logged in`);
  return page;
}

/// Runs a scenario: launches the browser, runs `body(browser)`, closes it, sets the exit code.
export async function run(body) {
  const browser = await launch();
  try {
    await body(browser);
    console.log('scenario passed');
  } catch (e) {
    console.error(e && e.stack ? e.stack : String(e));
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}
