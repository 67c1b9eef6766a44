/**
 * The demo chat page served over https:// by a TLS cluster, in a real
 * Chromium: the page connects with wss:// (it follows its own scheme) and
 * chats. The certificate is the test CA's, which Chromium does not know: the
 * context ignores certificate errors (what is checked here is the page over
 * TLS, not Chromium's trust store; the ws-client tests verify the chain).
 */
import { describeInChromium, newContext } from '../helpers/browser';
import { makeCa, makeCert, type TestCa } from '../helpers/certs';
import { closeAll, startCluster } from '../helpers/cluster';

describeInChromium('the chat page over https://', { file: __filename, afterEach: closeAll }, (browser) => {
  let ca: TestCa;
  beforeAll(() => {
    ca = makeCa();
  });
  afterAll(() => ca.remove());

  test('the page loads over https://, connects with wss:// and chats', async () => {
    const cert = makeCert(ca, 'browser');
    const { port } = await startCluster({ tls: { cert: cert.certFile, key: cert.keyFile } });
    const page = await (await newContext(browser(), { ignoreHTTPSErrors: true })).newPage();
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
