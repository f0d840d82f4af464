// A dead letter is requeued from its page once the receiver is fixed, and the page shows it
// delivered, live.
import { run, hub, env, check, login, screenshotter } from './lib.mjs';

const shot = screenshotter('dead_letter');

await run(async (browser) => {
  const context = await browser.newContext();
  const page = await login(context, env('OPERATOR_USER'), env('OPERATOR_PASSWORD'));
  await page.click('nav a[href="/dashboard/dead-letters"]');
  const row = `#dead-letters tr[data-event="${env('EVENT_ID')}"]`;
  await page.waitForSelector(row);
  check((await page.textContent(row)).includes('400'), 'the dead letter shows the receiver\'s 400 as its reason');
  await shot(page, '1-list');

  await Promise.all([page.waitForURL(/\/dashboard\/deliveries\//), page.click(`${row} a`)]);
  check((await page.textContent('#delivery-status')).trim() === 'dead', 'its page says dead');
  check(!(await page.textContent('#raw')).includes(env('CHILD_UPN')), 'the notification is masked for an operator');
  await shot(page, '2-detail');

  await Promise.all([page.waitForURL(/result=requeued/), page.click('#requeue')]);
  check((await page.textContent('#result')).includes('Requeued'), 'the page confirms the requeue');
  await page.waitForFunction(() => document.querySelector('#delivery-status')?.textContent.trim() === 'delivered',
    null, { timeout: 20000 });
  check(true, 'the page shows it delivered without a reload');
  await shot(page, '3-delivered');
});
