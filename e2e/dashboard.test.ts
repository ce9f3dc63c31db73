import { randomUUID } from 'node:crypto';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import type { SimulatedDevice } from '../device-simulator/src';
import { setUserRole } from '../gateway/src/cli/user-role';
import { gatewayUrl, request, type Command, type Device } from './support/api';
import { ConsoleWatch, launchBrowser, newContext, phone, screenshot } from './support/browser';
import { capabilities, type Capabilities } from './support/capabilities';
import { connectDevice } from './support/devices';

/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core) against the whole stack, as a person
 * uses it: log in, create a device, command it and watch the saga, live values, notifications and alarms; a second
 * user sees none of it. Every page is screenshotted into .run/screenshots; no page may log a console error it was
 * not expected to (a wrong password's 401, say).
 */

/**
 * The parts of the stack the dashboard builds on that answer here. A test of a part whose service does not answer yet
 * is reported as skipped, naming it; the console messages of the missing parts (the failed WebSocket handshake, their
 * 404s) are then expected, and nothing else is.
 */
const caps = capabilities(gatewayUrl);
const missing = (Object.keys(caps) as (keyof Capabilities)[]).filter((k) => !caps[k]);
if (missing.length) console.warn(`dashboard browser tests: not answering on ${gatewayUrl}: ${missing.join(', ')} — their tests are skipped`);
const needs = (...parts: (keyof Capabilities)[]) => (parts.every((p) => caps[p]) ? it : it.skip);

function watchFor(page: Page): ConsoleWatch {
  const watch = new ConsoleWatch(page);
  expectMissingParts(watch);
  return watch;
}

function expectMissingParts(watch: ConsoleWatch): void {
  if (!caps.push) watch.expect(/WebSocket connection to .*\/ws.* failed/);
  if (!caps.notifications) watch.expect(/status of 404 .*\/api\/v1\/notifications/);
  if (!caps.alarms) watch.expect(/status of 404 .*\/api\/v1\/alarm/);
  if (!caps.telemetry) watch.expect(/status of 404 .*\/telemetry/);
}

interface Person {
  id: string;
  email: string;
  password: string;
  token: string;
}

async function registerPerson(label: string): Promise<Person> {
  const email = `${label}-${randomUUID().slice(0, 8)}@e2e.devicesaga.local`;
  const password = `pw-${randomUUID()}`;
  const registered = await request('POST', '/api/v1/auth/register', { body: { email, password, name: label } });
  if (registered.status !== 201) throw new Error(`register ${registered.status}: ${JSON.stringify(registered.body)}`);
  const login = await request<{ token: string; user: { id: string } }>('POST', '/api/v1/auth/login', { body: { email, password } });
  if (login.status !== 200) throw new Error(`login ${login.status}: ${JSON.stringify(login.body)}`);
  return { id: login.body.user.id, email, password, token: login.body.token };
}

const as = <T = Record<string, unknown>>(p: Person, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  request<T>(method, path, { ...(body === undefined ? {} : { body }), headers: { authorization: `Bearer ${p.token}`, ...headers } });

/** A browser context already logged in as `p` (the session cookie the login would set, and the app's own marker). */
async function signedIn(browser: Browser, p: Person, viewport?: { width: number; height: number }): Promise<BrowserContext> {
  const ctx = await newContext(browser, gatewayUrl, viewport);
  const url = new URL(gatewayUrl);
  await ctx.addCookies([{ name: 'ds_session', value: p.token, domain: url.hostname, path: '/', httpOnly: true, sameSite: 'Lax' }]);
  await ctx.addInitScript({ content: "window.localStorage.setItem('devicesaga.session', '1')" });
  return ctx;
}

const sel = (testId: string, attrs: Record<string, string> = {}) =>
  `[data-testid="${testId}"]${Object.entries(attrs)
    .map(([k, v]) => `[${k}="${v}"]`)
    .join('')}`;

async function waitLive(page: Page): Promise<void> {
  if (!caps.push) return;
  await page.locator(sel('live-status')).filter({ hasText: 'Live' }).waitFor({ timeout: 20_000 });
}

async function badgeCount(page: Page): Promise<number> {
  const badge = page.getByTestId('unread-badge');
  if ((await badge.count()) === 0) return 0;
  return Number((await badge.textContent())?.replace('+', '') ?? '0');
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Sends a command from the device page's form by clicking Send, and answers the command card it added. */
async function sendFromForm(page: Page, value: string, click: (send: Locator) => Promise<void> = (b) => b.click()): Promise<Locator> {
  const before = await page.locator(sel('command')).count();
  await page.getByTestId('command-value').fill(value);
  await click(page.getByTestId('command-send'));
  await until('the new command card', async () => (await page.locator(sel('command')).count()) > before);
  const id = await page.locator(sel('command')).first().getAttribute('data-command-id');
  if (!id) throw new Error('the command card has no id');
  return page.locator(sel('command', { 'data-command-id': id }));
}

const stepsDone = (card: Locator) => card.locator('.step.done .step-name, .step.failed .step-name').allTextContents();

describe('the dashboard in a browser', () => {
  let browser: Browser;
  let alice: Person;
  let aliceCtx: BrowserContext;
  let page: Page;
  let watch: ConsoleWatch;
  let boiler: { id: string; name: string };
  let boilerFirmware: SimulatedDevice | undefined;
  let greenhouse: Device;
  let greenhouseFirmware: SimulatedDevice | undefined;

  beforeAll(async () => {
    browser = await launchBrowser();
    alice = await registerPerson('alice');
    greenhouse = (await as<Device>(alice, 'POST', '/api/v1/devices', { name: 'Greenhouse', sensors: [{ parameter: 'temperature' }, { parameter: 'enabled' }] })).body;
    greenhouseFirmware = await connectDevice(greenhouse, { telemetryMs: 500 });
    aliceCtx = await newContext(browser, gatewayUrl);
    page = await aliceCtx.newPage();
    watch = watchFor(page);
  });

  afterAll(async () => {
    await boilerFirmware?.stop();
    await greenhouseFirmware?.stop();
    await browser?.close();
  });

  afterEach(() => {
    expect(watch.take()).toEqual([]);
    expectMissingParts(watch);
  });

  it('a wrong password is refused with a clear message; the right one logs in', async () => {
    const served = await page.goto('/');
    // Served under a strict policy (no inline script or style, no eval): any violation would be a console error.
    expect(served?.headers()['content-security-policy']).toContain("script-src 'self'; style-src 'self'");
    expect(served?.headers()['cache-control']).toBe('no-cache');
    await page.getByLabel('Username or email').waitFor();
    await screenshot(page, 'login');
    watch.expect(/status of 401/); // the browser logs the refused login's 401 itself
    await page.getByLabel('Username or email').fill(alice.email);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Log in' }).click();
    expect(await page.getByTestId('login-error').textContent()).toBe('Wrong username/email or password.');
    await screenshot(page, 'login-wrong-password');

    await page.getByLabel('Password').fill(alice.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Devices', level: 1 }).waitFor();
    await page.locator(sel('device-row', { 'data-device-id': greenhouse.id })).waitFor();
    await waitLive(page);
  });

  it('creating a device shows its MQTT credentials once; the device answers with them', async () => {
    await page.getByRole('button', { name: 'New device' }).click();
    await page.getByLabel('Name').fill('Boiler');
    await page.getByRole('button', { name: 'Create device' }).click();
    const username = (await page.getByTestId('mqtt-username').textContent()) ?? '';
    const password = (await page.getByTestId('mqtt-password').textContent()) ?? '';
    expect(username).toMatch(/^[0-9a-f-]{36}$/);
    expect(password.length).toBeGreaterThanOrEqual(16);
    await screenshot(page, 'device-created');
    boiler = { id: username, name: 'Boiler' };
    const created = await as<Device>(alice, 'GET', `/api/v1/devices/${boiler.id}`);
    boilerFirmware = await connectDevice({ ...created.body, mqtt: { username, password } });

    await page.getByRole('button', { name: 'Done' }).click();
    await page.locator(sel('device-row', { 'data-device-id': boiler.id })).waitFor();
    await screenshot(page, 'devices');
    await page.getByRole('link', { name: 'Boiler' }).click();
    expect(await page.getByTestId('device-name').textContent()).toBe('Boiler');
  });

  it('a value outside the bounds is refused in the form and never sent', async () => {
    const posts: string[] = [];
    page.on('request', (r) => r.method() === 'POST' && r.url().endsWith('/api/v1/commands') && posts.push(r.url()));
    await page.getByTestId('command-value').fill('150');
    await page.getByTestId('command-send').click();
    expect(await page.getByTestId('command-invalid').textContent()).toBe('150 is outside the allowed range 0 … 100.');
    await page.waitForTimeout(300);
    expect(posts).toEqual([]);
    expect(await page.locator(sel('command')).count()).toBe(0);
  });

  it('set 34.4 (double-clicked): one command, its timeline reaches SUCCEEDED and the value changes', async () => {
    const card = await sendFromForm(page, '34.4', (send) => send.dblclick());
    await card.and(page.locator('[data-status="SUCCEEDED"]')).waitFor({ timeout: 30_000 });
    expect(await stepsDone(card)).toEqual(['PENDING', 'APPROVED', 'SUCCEEDED']);
    await page.locator(`${sel('sensor-temperature')} ${sel('value-temperature', { 'data-value': '34.4' })}`).waitFor({ timeout: 10_000 });

    const listed = await as<{ items: Command[] }>(alice, 'GET', `/api/v1/commands?deviceId=${boiler.id}`);
    expect(listed.body.items.map((c) => c.value)).toEqual([34.4]); // the double click sent one command
    expect(await page.locator(sel('command')).count()).toBe(1);
  });

  it('set 74.4 (the device refuses above 70): the timeline ends COMPENSATED and 34.4 is restored', async () => {
    const card = await sendFromForm(page, '74.4');
    await card.and(page.locator('[data-status="COMPENSATED"]')).waitFor({ timeout: 30_000 });
    expect(await stepsDone(card)).toEqual(['PENDING', 'APPROVED', 'FAILED', 'COMPENSATED']);
    expect(await card.getByTestId('command-reason').textContent()).toContain('REFUSED');
    await card.getByTestId('restored-value').filter({ hasText: 'Value restored to 34.4' }).waitFor({ timeout: 10_000 });
    await page.locator(`${sel('sensor-temperature')} ${sel('value-temperature', { 'data-value': '34.4' })}`).waitFor({ timeout: 10_000 });
    await screenshot(page, 'device');
  });

  needs('push', 'notifications')('the notification badge counts up live, without a reload', async () => {
    await waitLive(page);
    const before = await badgeCount(page);
    const sensor = greenhouse.sensors.find((s) => s.parameter === 'enabled')!;
    const posted = await as<Command>(alice, 'POST', '/api/v1/commands', { deviceId: greenhouse.id, sensorId: sensor.id, action: 'set', value: 1 }, { 'idempotency-key': randomUUID() });
    expect(posted.status).toBe(202);
    const after = await until('the badge to count up', async () => {
      const n = await badgeCount(page);
      return n > before ? n : undefined;
    });
    expect(after).toBeGreaterThan(before);
    await page.getByRole('link', { name: /Notifications/ }).click();
    await page.locator(sel('notification')).first().waitFor();
    await screenshot(page, 'inbox');
    // Marking one read lowers the badge.
    await page.getByRole('button', { name: /^Mark .* read$/ }).first().click();
    await until('the badge to count down', async () => (await badgeCount(page)) < after);
  });

  needs('push', 'notifications')('after being offline, the notifications it missed are shown once each', async () => {
    await waitLive(page);
    const seen = await as<{ items: { seq: number }[] }>(alice, 'GET', '/api/v1/notifications?limit=1');
    const lastSeq = seen.body.items[0]?.seq ?? 0;

    await aliceCtx.setOffline(true);
    await page.locator(sel('live-status')).filter({ hasText: 'Offline' }).waitFor({ timeout: 10_000 });
    const sensor = greenhouse.sensors.find((s) => s.parameter === 'enabled')!;
    for (const value of [0, 1]) {
      const posted = await as<Command>(alice, 'POST', '/api/v1/commands', { deviceId: greenhouse.id, sensorId: sensor.id, action: 'set', value }, { 'idempotency-key': randomUUID() });
      await until(`command ${posted.body.id} to end`, async () => {
        const c = await as<Command>(alice, 'GET', `/api/v1/commands/${posted.body.id}`);
        return ['SUCCEEDED', 'REJECTED', 'COMPENSATED'].includes(c.body.status);
      });
    }
    const missed = await until('the notifications of those commands', async () => {
      const all = await as<{ items: { seq: number; title: string }[] }>(alice, 'GET', '/api/v1/notifications?limit=50');
      const fresh = all.body.items.filter((n) => n.seq > lastSeq);
      return fresh.length >= 2 ? fresh : undefined;
    });

    await aliceCtx.setOffline(false);
    const banner = page.getByTestId('missed-notifications');
    await banner.getByRole('heading', { name: `While you were away: ${missed.length} notifications` }).waitFor({ timeout: 20_000 });
    await screenshot(page, 'missed-notifications');

    // Once each: a reload resumes after what was shown, so nothing comes back as missed.
    await page.reload();
    await waitLive(page);
    await page.waitForTimeout(1500);
    expect(await banner.count()).toBe(0);
  });

  needs('push', 'alarms')('a simulated high temperature raises an alarm live, which is acknowledged', async () => {
    await page.getByRole('link', { name: 'Alarms' }).click();
    await page.getByRole('heading', { name: 'Alarms', level: 1 }).waitFor();
    await waitLive(page);
    const sensor = greenhouse.sensors.find((s) => s.parameter === 'temperature')!;
    const posted = await as<Command>(alice, 'POST', '/api/v1/commands', { deviceId: greenhouse.id, sensorId: sensor.id, action: 'set', value: 45 }, { 'idempotency-key': randomUUID() });
    expect(posted.status).toBe(202);

    const row = page.locator(sel('alarm-row', { 'data-device-id': greenhouse.id }));
    await row.waitFor({ timeout: 30_000 });
    expect(await row.locator('.sev').textContent()).toBe('MAJOR');
    expect(await row.getAttribute('data-status')).toBe('ACTIVE_UNACK');
    expect(Number(await row.getByTestId('alarm-occurrences').textContent())).toBeGreaterThanOrEqual(1);
    await screenshot(page, 'alarms');

    await row.getByRole('button', { name: /^Acknowledge/ }).click();
    await page.locator(sel('alarm-row', { 'data-device-id': greenhouse.id, 'data-status': 'ACTIVE_ACK' })).waitFor();
    const listed = await as<{ items: { deviceId: string; status: string }[] }>(alice, 'GET', `/api/v1/alarms?deviceId=${greenhouse.id}`);
    expect(listed.body.items.find((a) => a.deviceId === greenhouse.id)?.status).toBe('ACTIVE_ACK');

    await page.getByRole('link', { name: 'Alarm types' }).click();
    await page.locator(sel('alarm-type-row')).first().waitFor();
    await screenshot(page, 'alarm-types');
  });

  needs('push', 'telemetry')('the device page charts telemetry history and appends live points', async () => {
    await page.goto(`/devices/${greenhouse.id}`);
    await page.getByTestId('device-name').waitFor();
    await waitLive(page);
    const summary = page.getByTestId('chart-summary');
    await summary.filter({ hasText: / [1-9]\d* live/ }).waitFor({ timeout: 15_000 });
    await page.locator(`${sel('telemetry-chart')} canvas`).waitFor();
    // The history endpoint has the readings of the last minutes too: the 15-minute range draws them.
    await page.getByRole('button', { name: '15 min' }).click();
    await until('history points', async () => {
      const text = (await summary.textContent()) ?? '';
      return !text.includes('unavailable') && Number(/(\d+) points/.exec(text)?.[1] ?? 0) > 0;
    });
    await page.locator(sel('presence')).filter({ hasText: 'online' }).waitFor({ timeout: 15_000 });
    await screenshot(page, 'device-live');
  });

  it('is usable from the keyboard: skip link, then a command sent with Tab and Enter', async () => {
    await page.goto(`/devices/${boiler.id}`);
    await page.getByTestId('device-name').waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Skip to content');
    const before = await page.locator(sel('command')).count();
    let reached = false;
    for (let i = 0; i < 40 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = (await page.evaluate("document.activeElement?.getAttribute('data-testid')")) === 'command-value';
    }
    expect(reached).toBe(true);
    await page.keyboard.type('33');
    await page.keyboard.press('Enter');
    await until('the command sent by keyboard', async () => (await page.locator(sel('command')).count()) > before);
  });

  it('works on a phone-sized screen without sideways scrolling', async () => {
    const ctx = await signedIn(browser, alice, phone);
    const small = await ctx.newPage();
    const phoneWatch = watchFor(small);
    for (const [path, name] of [
      ['/', 'phone-devices'],
      [`/devices/${greenhouse.id}`, 'phone-device'],
      ['/alarms', 'phone-alarms'],
    ] as const) {
      await small.goto(path);
      await small.locator('main h1').first().waitFor();
      await small.waitForTimeout(500);
      const overflow = await small.evaluate('document.documentElement.scrollWidth - window.innerWidth');
      expect({ path, overflow }).toEqual({ path, overflow: 0 });
      await screenshot(small, name);
    }
    expect(await small.getByRole('link', { name: /Notifications/ }).isVisible()).toBe(true);
    expect(phoneWatch.unexpected()).toEqual([]);
    await ctx.close();
  });

  it('an expired session says so and asks to log in again', async () => {
    await page.goto('/');
    await page.getByRole('heading', { name: 'Devices', level: 1 }).waitFor();
    await aliceCtx.clearCookies();
    watch.expect(/status of 401/);
    await page.getByRole('link', { name: 'Alarms' }).click();
    await page.getByTestId('session-expired').waitFor();
    await screenshot(page, 'session-expired');
  });
});

/** The test stack's gateway database (scripts/stack/instance.ts names it after the instance), for `user:role`. */
const gatewayDatabase = `ds_gateway_${process.env.E2E_INSTANCE ?? process.env.TEST_INSTANCE ?? 'test'}`;

describe('alarm types', () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  needs('alarms')('an operator creates, edits and deletes an alarm type; a user only reads them', async () => {
    const op = await registerPerson('op');
    const me = await as<{ username: string }>(op, 'GET', '/api/v1/me');
    await setUserRole(me.body.username, 'operator', { ...process.env, DATABASE_NAME: gatewayDatabase, LOG_LEVEL: 'warn' });
    const ctx = await signedIn(browser, op);
    const page = await ctx.newPage();
    const watch = watchFor(page);
    page.on('dialog', (d) => void d.accept());
    await page.goto('/alarm-types');
    await page.locator('.role').filter({ hasText: 'operator' }).waitFor();
    await page.locator(sel('alarm-type-row')).filter({ hasText: 'High temperature' }).waitFor();

    const name = `Boiling ${randomUUID().slice(0, 6)}`;
    await page.getByRole('button', { name: 'New alarm type' }).click();
    const form = page.getByTestId('alarm-type-form');
    await form.getByLabel('Name').fill(name);
    await form.getByLabel('Lower bound').fill('95');
    await form.getByLabel('Upper bound').fill('100');
    await form.getByLabel('Severity').selectOption('MINOR');
    await form.getByRole('button', { name: 'Save' }).click();
    const row = page.locator(sel('alarm-type-row')).filter({ hasText: name });
    await row.filter({ hasText: 'MINOR' }).waitFor();
    await screenshot(page, 'alarm-types-operator');

    await row.getByRole('button', { name: `Edit ${name}` }).click();
    await form.getByLabel('Severity').selectOption('CRITICAL');
    await form.getByRole('button', { name: 'Save' }).click();
    await row.filter({ hasText: 'CRITICAL' }).waitFor();
    const stored = await as<{ items: { name: string; severity: string; lower: number; upper: number }[] }>(op, 'GET', '/api/v1/alarm-types');
    expect(stored.body.items.find((t) => t.name === name)).toMatchObject({ severity: 'CRITICAL', lower: 95, upper: 100 });

    await row.getByRole('button', { name: `Delete ${name}` }).click();
    await until('the deleted alarm type to go', async () => (await row.count()) === 0);
    expect(watch.unexpected()).toEqual([]);
    await ctx.close();

    const user = await registerPerson('reader');
    const userCtx = await signedIn(browser, user);
    const userPage = await userCtx.newPage();
    const userWatch = watchFor(userPage);
    await userPage.goto('/alarm-types');
    await userPage.locator(sel('alarm-type-row')).first().waitFor();
    expect(await userPage.getByRole('button', { name: 'New alarm type' }).count()).toBe(0);
    expect(await userPage.getByRole('button', { name: /^Edit / }).count()).toBe(0);
    expect(userWatch.unexpected()).toEqual([]);
    await userCtx.close();
  });
});

describe('another user', () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("user B sees none of user A's devices, alarms or notifications", async () => {
    const a = await registerPerson('owner');
    const device = (await as<Device>(a, 'POST', '/api/v1/devices', { name: `Secret ${randomUUID().slice(0, 6)}`, sensors: [{ parameter: 'temperature' }] })).body;

    const ctx = await newContext(browser, gatewayUrl);
    const page = await ctx.newPage();
    const watch = watchFor(page);
    await page.goto('/');
    await page.getByRole('button', { name: 'Create one' }).click();
    const email = `bob-${randomUUID().slice(0, 8)}@e2e.devicesaga.local`;
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(`pw-${randomUUID()}`);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByTestId('no-devices').waitFor();
    await screenshot(page, 'user-b-devices');

    await page.getByTestId('device-search').fill(device.name);
    await page.getByTestId('no-devices').filter({ hasText: 'No device matches' }).waitFor();

    watch.expect(/status of 404/); // the device A owns answers 404 to B
    await page.goto(`/devices/${device.id}`);
    expect(await page.getByTestId('device-error').textContent()).toBe('This device does not exist, or you may not see it.');

    if (caps.alarms) {
      await page.goto('/alarms?view=all');
      await page.getByRole('heading', { name: 'Alarms', level: 1 }).waitFor();
      await page.getByText('No alarms.').waitFor();
      expect(await page.locator(sel('alarm-row', { 'data-device-id': device.id })).count()).toBe(0);
    }
    if (caps.notifications) {
      await page.goto('/inbox');
      await page.getByRole('heading', { name: 'Notifications', level: 1 }).waitFor();
      await page.getByText('No notifications.').waitFor();
      expect(await page.locator(sel('notification')).count()).toBe(0);
    }
    expect(watch.unexpected()).toEqual([]);
    await ctx.close();
  });

  it('pages through many devices and searches them by name', async () => {
    const carol = await registerPerson('carol');
    const names = Array.from({ length: 23 }, (_, i) => `unit-${String(i + 1).padStart(2, '0')}`);
    const ids: string[] = [];
    for (const name of names) {
      const created = await as<Device>(carol, 'POST', '/api/v1/devices', { name, sensors: [{ parameter: 'temperature' }] });
      expect(created.status).toBe(201);
      ids.push(created.body.id);
    }
    const ctx = await signedIn(browser, carol);
    const page = await ctx.newPage();
    const watch = watchFor(page);
    await page.goto('/');
    const rows = page.locator(sel('device-row'));
    await rows.first().waitFor();
    expect(await rows.count()).toBe(20);
    await page.getByRole('button', { name: 'Next →' }).click();
    await until('the second page', async () => (await rows.count()) === 3);
    await page.getByRole('button', { name: '← Previous' }).click();
    await until('the first page again', async () => (await rows.count()) === 20);

    await page.getByTestId('device-search').fill('unit-07');
    await until('the search result', async () => (await rows.count()) === 1);
    expect(await rows.first().getByRole('link').textContent()).toBe('unit-07');
    expect(page.url()).toContain('q=unit-07');
    expect(watch.unexpected()).toEqual([]);
    await ctx.close();
    for (const id of ids) await as(carol, 'DELETE', `/api/v1/devices/${id}`);
  });
});
