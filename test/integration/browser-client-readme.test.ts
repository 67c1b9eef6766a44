/**
 * The README's browser example of the client library, as a new user runs it:
 * pasted into the devtools console of the demo page (here: evaluated in the
 * page by playwright, which like the console is not bound by the page's
 * CSP) against a real cluster with the default services, then through a
 * rolling reload (what `kill -HUP` starts): it reconnects, re-joins through
 * `onReconnect`, and keeps chatting.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { describeInChromium, newContext } from '../helpers/browser';
import { closeAll, startCluster } from '../helpers/cluster';

/** The first ```js block of the README's "Client" section. */
function readmeExample(): string {
  const readme = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Client\n'));
  const match = /```js\n([\s\S]*?)```/.exec(section);
  if (match === null) throw new Error('no js example in the README\'s Client section');
  return match[1] as string;
}

/** Console lines the page logged, and a wait for them (woken by each new line, no polling). */
class ConsoleLog {
  readonly lines: string[] = [];
  private wake: (() => void) | undefined;

  constructor(page: Page) {
    page.on('console', (message) => {
      if (message.type() !== 'log') return;
      this.lines.push(message.text());
      this.wake?.();
    });
  }

  /** Waits until `count` lines in all contain `text`. */
  async contains(text: string, count = 1, timeoutMs = 15_000): Promise<void> {
    const enough = (): boolean => this.lines.filter((line) => line.includes(text)).length >= count;
    if (enough()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        reject(new Error(`the console never showed ${count} × ${text}; it showed:\n${this.lines.join('\n')}`));
      }, timeoutMs);
      this.wake = () => {
        if (!enough()) return;
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }
}

describeInChromium('the README browser example', { file: __filename, buildClient: true, afterEach: closeAll }, (browser) => {
  test('works pasted into the demo page, and survives a rolling reload', async () => {
    const { server, port } = await startCluster();
    const page = await (await newContext(browser())).newPage();
    const log = new ConsoleLog(page);
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.evaluate(`(async () => { ${readmeExample()}\n window.readmeChat = chat; })()`);
    await log.contains('"type":"joined","room":"lobby"');

    await server.reload();
    // Re-joined by onReconnect on the new connection, and chatting again.
    await log.contains('"type":"joined","room":"lobby"', 2, 30_000);
    await expect(page.evaluate('window.readmeChat.reconnects')).resolves.toBeGreaterThanOrEqual(1);
    await page.evaluate(`window.readmeChat.send({ type: 'say', text: 'after the reload' })`);
    await log.contains('"text":"after the reload"');
  }, 60_000);
});
