/**
 * Chromium for end-to-end tests: the system's own build (Debian's `chromium`
 * package), driven by playwright-core, which downloads no browser. Every
 * context opened here is closed by `closeContexts()`, every browser by
 * `closeBrowsers()`.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions } from 'playwright-core';

/** Where Debian puts it; `CHROMIUM_PATH` points elsewhere. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  // Tests run as root in CI, where Chromium's sandbox refuses to start.
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Playwright's timeout for one wait, below jest's per-test timeout so failures name what was awaited. */
export const BROWSER_WAIT_MS = 10_000;

const browsers = new Set<Browser>();
const contexts = new Set<BrowserContext>();

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM_PATH);
}

/** Launches Chromium; `launch()` gives it a fresh temporary profile, deleted on close. */
export async function launchChromium(): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
  browsers.add(browser);
  return browser;
}

/** A new context (its own cookies, storage and connections: one "user"). */
export async function newContext(browser: Browser, options: BrowserContextOptions = {}): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 640 }, ...options });
  context.setDefaultTimeout(BROWSER_WAIT_MS);
  contexts.add(context);
  context.once('close', () => contexts.delete(context));
  return context;
}

/** Closes every context (and so its pages and sockets); call from afterEach. */
export async function closeContexts(): Promise<void> {
  await Promise.all([...contexts].map((context) => context.close()));
  contexts.clear();
}

/** Closes every browser; call from afterAll. */
export async function closeBrowsers(): Promise<void> {
  await closeContexts();
  await Promise.all([...browsers].map((browser) => browser.close()));
  browsers.clear();
}

export interface ChromiumBlockOptions {
  /** The test file, named in the warning when Chromium is missing. */
  readonly file: string;
  /** Build the client library first (pages that load /switchyard-client.js). Default false. */
  readonly buildClient?: boolean;
  /** Runs after each test, after the contexts are closed (e.g. `closeAll` for the clusters). */
  readonly afterEach?: () => Promise<void> | void;
}

/**
 * A describe block of browser tests: Chromium launched once for the block,
 * every context closed after each test, the browser after the block. Without
 * Chromium the block is skipped, loudly. `body` gets a getter for the browser
 * (launched in beforeAll, after the block's tests are declared).
 */
export function describeInChromium(name: string, options: ChromiumBlockOptions, body: (browser: () => Browser) => void): void {
  if (!chromiumAvailable()) {
    console.warn(`SKIPPED: browser tests (${options.file}) need Chromium at ${CHROMIUM_PATH}, which is missing. Install it with \`apt-get install -y chromium\` or set CHROMIUM_PATH.`);
    describe.skip(name, () => body(() => undefined as unknown as Browser));
    return;
  }
  describe(name, () => {
    let browser: Browser | undefined;
    beforeAll(async () => {
      if (options.buildClient === true) await (require('../../scripts/build-client.js') as { buildClient(): Promise<unknown> }).buildClient();
      browser = await launchChromium();
    });
    afterEach(async () => {
      await closeContexts();
      await options.afterEach?.();
    });
    afterAll(closeBrowsers);
    body(() => {
      if (browser === undefined) throw new Error('Chromium is not launched yet: use the browser inside a test');
      return browser;
    });
  });
}
