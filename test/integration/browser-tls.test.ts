/**
 * The demo chat page served over https:// by a TLS cluster, in a real
 * Chromium: the page connects with wss:// (it follows its own scheme) and
 * chats. The certificate is the test CA's, which Chromium does not know: the
 * context ignores certificate errors (what is checked here is the page over
 * TLS, not Chromium's trust store; the ws-client tests verify the chain).
 */
import type { Browser, BrowserContext } from 'playwright-core';
import { BROWSER_WAIT_MS, CHROMIUM_PATH, chromiumAvailable, closeBrowsers, launchChromium } from '../helpers/browser';
import { makeCa, makeCert, type TestCa } from '../helpers/certs';
import { closeAll, startCluster } from '../helpers/cluster';

const describeWithChromium = chromiumAvailable() ? describe : describe.skip;
if (!chromiumAvailable()) {
  console.warn(`SKIPPED: browser tests (test/integration/browser-tls.test.ts) need Chromium at ${CHROMIUM_PATH}, which is missing.`);
}

describeWithChromium('the chat page over https://', () => {
  let browser: Browser;
  let ca: TestCa;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    ca = makeCa();
    browser = await launchChromium();
  });
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
    await closeAll();
  });
  afterAll(async () => {
    await closeBrowsers();
    ca.remove();
  });

  test('the page loads over https://, connects with wss:// and chats', async () => {
    const cert = makeCert(ca, 'browser');
    const { port } = await startCluster({ tls: { cert: cert.certFile, key: cert.keyFile } });
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    contexts.push(context);
    context.setDefaultTimeout(BROWSER_WAIT_MS);
    const page = await context.newPage();
    const sockets: string[] = [];
    page.on('websocket', (socket) => sockets.push(socket.url()));
    await page.goto(`https://localhost:${port}/`);
    await page.locator('#status[data-state="online"]').waitFor();
    expect(sockets).toEqual([`wss://localhost:${port}/chat`]);
    await page.fill('#name', 'tess');
    await page.click('#name-button');
    await page.locator('#chat').waitFor();
    await page.fill('#new-room', 'secure');
    await page.press('#new-room', 'Enter');
    await page.locator('body[data-room="secure"]').waitFor({ state: 'attached' });
    await page.fill('#text', 'over tls');
    await page.press('#text', 'Enter');
    await page.locator('#messages li.message .text', { hasText: 'over tls' }).waitFor();
  });
});
