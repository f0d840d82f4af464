// Log in: a wrong password is refused, the right one opens the overview with a session cookie
// the page's scripts cannot read; logging out ends the session.
import { run, hub, env, check, login, screenshotter } from './lib.mjs';

const shot = screenshotter('login');

await run(async (browser) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${hub()}/dashboard`);
  check(page.url() === `${hub()}/dashboard/login`, 'the overview sends a stranger to the login form');
  await shot(page, '1-form');

  await page.fill('#username', env('OPERATOR_USER'));
  await page.fill('#password', 'not the password at all');
  const refused = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/dashboard/login') && r.request().method() === 'POST'),
    page.click('button[type=submit]'),
  ]);
  check(refused[0].status() === 401, 'a wrong password is answered 401');
  check((await page.textContent('#login-error')).includes('wrong password'), 'the form says the login failed');
  check((await context.cookies()).length === 0, 'no session cookie after a failed login');
  await shot(page, '2-refused');

  await page.fill('#password', env('OPERATOR_PASSWORD'));
  await Promise.all([page.waitForURL(`${hub()}/dashboard`), page.click('button[type=submit]')]);
  check((await page.textContent('#whoami')).includes(`${env('OPERATOR_USER')} (operator)`), 'the overview names the operator and role');
  const [cookie] = await context.cookies();
  check(cookie && cookie.name === 'throughline_session', 'a session cookie is set');
  check(cookie.httpOnly && cookie.secure && cookie.sameSite === 'Strict' && cookie.path === '/dashboard',
    'the cookie is HttpOnly, Secure, SameSite=Strict, Path=/dashboard');
  check(!(await page.evaluate(() => document.cookie)).includes('throughline_session'), 'scripts cannot read the session cookie');
  await page.waitForSelector('[data-watch][data-state=live]');
  check(true, 'the live stream connects');
  await shot(page, '3-overview');

  await page.click('nav a[href="/dashboard/agencies"]');
  await page.waitForSelector('#agencies tr[data-agency="oakfield-primary"][data-state=running]');
  check(true, 'the agencies page lists the receiving agencies, running');
  await shot(page, '4-agencies');

  await Promise.all([page.waitForURL(`${hub()}/dashboard/login`), page.click('.who button')]);
  await page.goto(`${hub()}/dashboard`);
  check(page.url() === `${hub()}/dashboard/login`, 'after logging out the overview asks for a login again');
  await shot(page, '5-logged-out');
});
