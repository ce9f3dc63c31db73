import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/**
 * The machine's Debian Chromium driven by playwright-core (`npx playwright install` cannot download here). npm test's
 * bootstrap installs the `chromium` package when it is missing (scripts/bootstrap.sh); CHROMIUM_PATH points elsewhere.
 */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Screenshots of every page the browser tests visit (ignored by git; README's one is committed under docs/). */
export const screenshotDir = path.resolve(__dirname, '../../.run/screenshots');

/** Without the background-networking flags Chromium keeps calling out to Google's hosts, which this network refuses. */
const args = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A fresh browser (playwright's launch gives it a new, empty user-data-dir that it deletes on close). */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(`Chromium is not installed at ${chromiumPath}: install Debian's package as root (apt-get install chromium) — npm test's bootstrap does it`);
  }
  return chromium.launch({ executablePath: chromiumPath, headless: true, args });
}

export const desktop = { width: 1280, height: 860 };
export const phone = { width: 390, height: 844 };

/** A context per person. Actions wait up to 45 s: the 2-core machine is often shared with other test runs. */
export async function newContext(browser: Browser, baseURL: string, viewport = desktop): Promise<BrowserContext> {
  const ctx = await browser.newContext({ baseURL, viewport, locale: 'en-GB', timezoneId: 'UTC', ...(viewport === phone ? { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : {}) });
  ctx.setDefaultTimeout(45_000);
  return ctx;
}

/**
 * Every console error, uncaught exception and CSP violation of a page. Expected ones (the 401 of a wrong password,
 * say) are listed with `expect`; `unexpected()` is what remains.
 */
export class ConsoleWatch {
  readonly messages: string[] = [];
  private readonly expected: RegExp[] = [];

  constructor(page: Page) {
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') this.messages.push(`console.${m.type()}: ${m.text()}${m.location().url ? ` (${m.location().url})` : ''}`);
    });
    page.on('pageerror', (err) => this.messages.push(`pageerror: ${err.message}`));
  }

  expect(pattern: RegExp): void {
    this.expected.push(pattern);
  }

  unexpected(): string[] {
    return this.messages.filter((m) => !this.expected.some((p) => p.test(m)));
  }

  /** The unexpected messages so far; starts afresh (messages and expectations) for the next step. */
  take(): string[] {
    const found = this.unexpected();
    this.messages.length = 0;
    this.expected.length = 0;
    return found;
  }
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(screenshotDir, { recursive: true });
  const file = path.join(screenshotDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
  return file;
}
