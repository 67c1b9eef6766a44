/**
 * The demo chat page in a real Chromium against the bundled chat run as two
 * instances (docs/instances.md): two users whose connections are owned by
 * different instances see one room list with the right counts, each other's
 * notices and messages.
 */
import type { Browser, Page } from 'playwright-core';
import { bundledServices } from '../../src/options';
import { ownerOf } from '../../src/rendezvous';
import { CHROMIUM_PATH, chromiumAvailable, closeBrowsers, closeContexts, launchChromium, newContext } from '../helpers/browser';
import { closeAll, startCluster } from '../helpers/cluster';

function exactly(text: string): RegExp {
  return new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
}

/** One user: a page in its own browser context. */
class ChatPage {
  readonly errors: string[] = [];

  private constructor(readonly page: Page) {
    page.on('pageerror', (error) => this.errors.push(error.message));
  }

  static async open(browser: Browser, port: number): Promise<ChatPage> {
    const chat = new ChatPage(await (await newContext(browser)).newPage());
    await chat.page.goto(`http://127.0.0.1:${port}/`);
    await chat.page.locator('#status[data-state="online"]').waitFor();
    return chat;
  }

  /** The chat instance that owns this page's connection: the chat shards by client id. */
  async instance(): Promise<number> {
    const id = await this.page.locator('body').getAttribute('data-client-id');
    if (id === null) throw new Error('the page shows no client id');
    return ownerOf(`c:${id}`, 2);
  }

  async enterName(name: string): Promise<void> {
    await this.page.fill('#name', name);
    await this.page.click('#name-button');
    await this.page.locator('#chat').waitFor();
  }

  async createRoom(room: string): Promise<void> {
    await this.page.fill('#new-room', room);
    await this.page.press('#new-room', 'Enter');
    await this.page.locator(`body[data-room="${room}"]`).waitFor({ state: 'attached' });
  }

  async joinRoom(room: string): Promise<void> {
    await this.page.click(`#rooms li[data-room="${room}"] button`);
    await this.page.locator(`body[data-room="${room}"]`).waitFor({ state: 'attached' });
  }

  async say(text: string): Promise<void> {
    await this.page.fill('#text', text);
    await this.page.press('#text', 'Enter');
  }

  message(from: string, text: string): Promise<void> {
    return this.page
      .locator('#messages li.message')
      .filter({ has: this.page.locator('.from', { hasText: exactly(from) }) })
      .filter({ has: this.page.locator('.text', { hasText: exactly(text) }) })
      .last()
      .waitFor();
  }

  notice(text: string): Promise<void> {
    return this.page.locator('#messages li.notice', { hasText: exactly(text) }).last().waitFor();
  }

  userCount(room: string, users: number): Promise<void> {
    return this.page.locator(`#rooms li[data-room="${room}"] .count`, { hasText: exactly(String(users)) }).waitFor();
  }
}

const describeWithChromium = chromiumAvailable() ? describe : describe.skip;
if (!chromiumAvailable()) console.warn(`SKIPPED: browser tests need Chromium at ${CHROMIUM_PATH}, which is missing.`);

describeWithChromium('the chat page against two chat instances', () => {
  let browser: Browser;
  // Two TypeScript chat processes and Chromium: a loaded 2-core machine takes a while.
  jest.setTimeout(120_000);

  beforeAll(async () => {
    browser = await launchChromium();
  });

  afterEach(async () => {
    await closeContexts();
    await closeAll();
  });

  afterAll(closeBrowsers);

  test('two users owned by different instances share the room list, its counts, notices and messages', async () => {
    const { port, server } = await startCluster({ startTimeout: 90_000, services: { chat: { module: bundledServices().chat, instances: 2 } } });
    expect(server.stats().services.map((s) => s.instance)).toEqual([0, 1]);
    const alice = await ChatPage.open(browser, port);
    await alice.enterName('alice');
    await alice.createRoom('garden');
    // Pages until one is owned by the other instance (each new connection is a fresh client id).
    let bob = await ChatPage.open(browser, port);
    for (let tries = 0; (await bob.instance()) === (await alice.instance()) && tries < 10; tries++) {
      await bob.page.context().close();
      bob = await ChatPage.open(browser, port);
    }
    expect(await bob.instance()).not.toBe(await alice.instance());

    await bob.enterName('bob');
    // The room alice made on her instance is in bob's list, with her in it.
    await bob.userCount('garden', 1);
    await bob.joinRoom('garden');
    await alice.notice('bob joined');
    await alice.userCount('garden', 2);
    await bob.userCount('garden', 2);

    await alice.say('hi bob');
    await bob.message('alice', 'hi bob');
    await bob.say('hi alice');
    await alice.message('bob', 'hi alice');

    await bob.page.click('#leave');
    await alice.notice('bob left');
    await alice.userCount('garden', 1);
    await bob.userCount('garden', 1);
    await bob.page.context().close();
    await alice.userCount('garden', 1);
    expect([...alice.errors, ...bob.errors]).toEqual([]);
  });
});
