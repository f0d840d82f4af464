// An operator sees a quarantined input with its child data masked and cannot reveal it; an
// admin can, and sees it unmasked.
import { run, hub, env, check, login, screenshotter } from './lib.mjs';

const shot = screenshotter('masking');
const item = `${hub()}/dashboard/quarantine/${env('QUARANTINE_ID')}`;
const secrets = env('CHILD_DATA').split('|');

await run(async (browser) => {
  const operator = await browser.newContext();
  const page = await login(operator, env('OPERATOR_USER'), env('OPERATOR_PASSWORD'));
  await page.click('nav a[href="/dashboard/quarantine"]');
  await page.waitForSelector(`a[href="/dashboard/quarantine/${env('QUARANTINE_ID')}"]`);
  await shot(page, '1-list');
  await page.goto(item);
  const masked = await page.content();
  for (const s of secrets) check(!masked.includes(s), `the operator's page does not show ${s.length} characters of child data`);
  check((await page.textContent('#raw')).includes('•••'), 'the raw input shows masks');
  check((await page.textContent('#problems')).includes('subject.identifiers.nhs_number'), 'the reason names the field');
  check(await page.$('#reveal') === null, 'the operator has no reveal button');
  await shot(page, '2-operator-masked');
  const csrf = await page.getAttribute('input[name=csrf]', 'value');
  const forced = await page.evaluate(async ([url, csrf]) => {
    const r = await fetch(url + '/reveal', { method: 'POST', body: new URLSearchParams({ csrf }) });
    return { status: r.status, body: await r.text() };
  }, [item, csrf]);
  check(forced.status === 403, 'an operator posting the reveal form directly is refused');
  for (const s of secrets) check(!forced.body.includes(s), 'the refusal shows no child data');

  const admin = await browser.newContext();
  const adminPage = await login(admin, env('ADMIN_USER'), env('ADMIN_PASSWORD'));
  await adminPage.goto(item);
  check(!(await adminPage.content()).includes(secrets[0]), 'the admin also starts masked');
  await Promise.all([adminPage.waitForURL(`${item}/reveal`), adminPage.click('#reveal')]);
  const raw = await adminPage.textContent('#raw');
  for (const s of secrets) check(raw.includes(s), 'the admin sees the child data after revealing');
  check((await adminPage.textContent('.notice.warn')).includes('audit log'), 'the admin is told the viewing is audited');
  await shot(adminPage, '3-admin-unmasked');
});
