// Two inputs about a child with the same family name, date of birth and postcode district but
// no shared identifier raise a possible match. The operator sees the evidence side by side,
// masked, with whether each field agrees; the auditor may look but not decide; the operator
// confirms, and the review is closed as confirmed.
import { run, hub, env, check, login, screenshotter } from './lib.mjs';

const shot = screenshotter('possible_match');
const review = env('REVIEW_ID');
const secrets = env('CHILD_DATA').split('|');

await run(async (browser) => {
  const auditor = await browser.newContext();
  const watcher = await login(auditor, env('AUDITOR_USER'), env('AUDITOR_PASSWORD'));
  await watcher.goto(`${hub()}/dashboard/identity/${review}`);
  check(await watcher.$('#confirm') === null && await watcher.$('#reject') === null, 'the auditor has no confirm or reject button');

  const operator = await browser.newContext();
  const page = await login(operator, env('OPERATOR_USER'), env('OPERATOR_PASSWORD'));
  await page.click('nav a[href="/dashboard/identity"]');
  await page.waitForSelector(`tr[data-review="${review}"]`);
  await shot(page, '1-list');
  await Promise.all([page.waitForURL(`${hub()}/dashboard/identity/${review}`), page.click(`tr[data-review="${review}"] td a`)]);
  const html = await page.content();
  for (const s of secrets) check(!html.includes(s), `the operator's page does not show ${s.length} characters of child data`);
  const verdict = async (field) => (await page.textContent(`tr[data-field="${field}"] td:last-child`)).trim();
  check(await verdict('family name') === 'same', 'the family names agree');
  check(await verdict('date of birth') === 'same', 'the dates of birth agree');
  check(await verdict('postcode') === 'same district', 'the postcodes share a district');
  check(await verdict('NHS number') === 'one side only', 'only one record has an NHS number');
  check((await page.textContent('#evidence')).includes('•••'), 'the values are masked');
  check(await page.$('#reveal') === null, 'the operator has no reveal button');
  await shot(page, '2-evidence-masked');
  await Promise.all([page.waitForURL(`${hub()}/dashboard/identity/${review}?result=confirmed`), page.click('#confirm')]);
  check((await page.textContent('#review-status')).trim() === 'confirmed', 'the review is confirmed');
  check((await page.textContent('#result')).includes('one child'), 'the operator is told the records are one child');
  await shot(page, '3-confirmed');
  await page.goto(`${hub()}/dashboard/identity`);
  check(await page.$(`tr[data-review="${review}"]`) === null, 'the review no longer waits');
});
