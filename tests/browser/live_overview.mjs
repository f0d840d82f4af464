// Watch a posted event's deliveries appear live on the overview, without a reload.
import { run, hub, env, check, login, screenshotter } from './lib.mjs';

const shot = screenshotter('live_overview');

await run(async (browser) => {
  const context = await browser.newContext();
  const page = await login(context, env('OPERATOR_USER'), env('OPERATOR_PASSWORD'));
  await page.waitForSelector('[data-watch][data-state=live]');
  // Survives only if the page is never reloaded.
  await page.evaluate(() => { window.notReloaded = true; });
  await shot(page, '1-before');

  const response = await fetch(`${hub()}/v1/events`, {
    method: 'POST',
    headers: { 'Authorization': `Bearer ${env('SOURCE_KEY')}`, 'Content-Type': 'application/json' },
    body: env('EVENT_JSON'),
  });
  check(response.status === 202, `the event is accepted (${response.status})`);
  const eventId = (await response.json()).event_ids[0];

  const row = `#recent-deliveries tr[data-event="${eventId}"]`;
  await page.waitForSelector(row, { timeout: 20000 });
  check(true, 'the event\'s delivery appears in the recent deliveries table');
  await page.waitForSelector(`${row}[data-status=delivered]`, { timeout: 20000 });
  const rows = await page.$$(`${row}[data-status=delivered]`);
  check(rows.length === Number(env('EXPECTED_DELIVERIES')), `${rows.length} deliveries shown delivered`);
  check(await page.evaluate(() => window.notReloaded === true), 'the page was not reloaded');
  check(Number(await page.textContent('#events-last-hour')) >= 1, 'events in counts the event');
  await shot(page, '2-delivered');
});
