/**
 * The demo chat page in a real Chromium against a real two-worker cluster:
 * two users on different workers talk, and one of them survives the death of
 * the worker that held its socket; both survive a rolling reload. The page
 * reconnects through the client library the workers serve
 * (/switchyard-client.js, built first).
 */
import { mkdirSync } from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { SwitchyardServer } from '../../src/master/server';
import { CHROMIUM_PATH, chromiumAvailable, closeBrowsers, closeContexts, launchChromium, newContext } from '../helpers/browser';
import { closeAll, startCluster } from '../helpers/cluster';

const ARTIFACTS = path.join(__dirname, '..', '..', 'artifacts');
const INJECTION = '<img src=x onerror=alert(1)>';

function exactly(text: string): RegExp {
  return new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
}

/** One user: a page in its own browser context. */
class ChatPage {
  readonly dialogs: string[] = [];
  /** Console errors and uncaught exceptions; a Content-Security-Policy violation lands here too. */
  readonly errors: string[] = [];

  private constructor(readonly page: Page) {
    page.on('console', (message) => {
      if (message.type() === 'error') this.errors.push(message.text());
    });
    page.on('pageerror', (error) => this.errors.push(error.message));
    // An alert would mean user text ran as code.
    page.on('dialog', (dialog) => {
      this.dialogs.push(dialog.message());
      void dialog.dismiss();
    });
  }

  static async open(browser: Browser, port: number): Promise<ChatPage> {
    const context = await newContext(browser);
    const chat = new ChatPage(await context.newPage());
    await chat.page.goto(`http://127.0.0.1:${port}/`);
    await chat.waitForState('online');
    return chat;
  }

  async close(): Promise<void> {
    await this.page.context().close();
  }

  waitForState(state: 'connecting' | 'online' | 'reconnecting' | 'offline'): Promise<void> {
    return this.page.locator(`#status[data-state="${state}"]`).waitFor();
  }

  async clientId(): Promise<string> {
    const id = await this.page.locator('body').getAttribute('data-client-id');
    if (id === null) throw new Error('the page shows no client id');
    return id;
  }

  /** The cluster worker holding this page's socket, read from the page's client id. */
  async worker(): Promise<number> {
    return parseInt((await this.clientId()).split('.')[0] as string, 36);
  }

  async enterName(name: string): Promise<void> {
    await this.page.fill('#name', name);
    await this.page.click('#name-button');
    await this.page.locator('#chat').waitFor();
  }

  async createRoom(room: string): Promise<void> {
    await this.page.fill('#new-room', room);
    await this.page.press('#new-room', 'Enter');
    await this.inRoom(room);
  }

  async joinRoom(room: string): Promise<void> {
    await this.page.click(`#rooms li[data-room="${room}"] button`);
    await this.inRoom(room);
  }

  inRoom(room: string): Promise<void> {
    return this.page.locator(`body[data-room="${room}"]`).waitFor({ state: 'attached' });
  }

  async say(text: string): Promise<void> {
    await this.page.fill('#text', text);
    await this.page.press('#text', 'Enter');
  }

  /** Waits until the log shows `text` from `from`, and returns the element holding the text. */
  async message(from: string, text: string): Promise<ReturnType<Page['locator']>> {
    const item = this.page
      .locator('#messages li.message')
      .filter({ has: this.page.locator('.from', { hasText: exactly(from) }) })
      .filter({ has: this.page.locator('.text', { hasText: exactly(text) }) });
    await item.last().waitFor();
    return item.last().locator('.text');
  }

  notice(text: string): Promise<void> {
    return this.page.locator('#messages li.notice', { hasText: exactly(text) }).last().waitFor();
  }

  /** Waits until the room list shows `users` people in `room`. */
  userCount(room: string, users: number): Promise<void> {
    return this.page.locator(`#rooms li[data-room="${room}"] .count`, { hasText: exactly(String(users)) }).waitFor();
  }

  /** Records every connection state the page shows from now on, in `window.seenStates`. */
  async recordStates(): Promise<void> {
    await this.page.evaluate(`(() => {
      const status = document.getElementById('status');
      window.seenStates = [status.dataset.state];
      new MutationObserver(() => window.seenStates.push(status.dataset.state))
        .observe(status, { attributes: true, attributeFilter: ['data-state'] });
    })()`);
  }

  async waitForSeenState(state: string): Promise<void> {
    await this.page.waitForFunction(`window.seenStates.includes(${JSON.stringify(state)})`);
  }
}

/** Polls a condition on the master's state, which no event reports (client counts per worker). */
async function eventually(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function clientsOn(server: SwitchyardServer, worker: number): number | undefined {
  return server.stats().workers.find((entry) => entry.id === worker)?.clients;
}

/** One plain HTTP request on a fresh TCP connection: it takes one turn of the round-robin. */
function spendOneConnection(port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/chat.css', agent: false }, (response) => {
      response.resume();
      response.on('end', resolve);
    }).on('error', reject);
  });
}

/**
 * node:cluster hands connections to workers round-robin, and a page load
 * opens an even or odd number of them (Chromium reuses its keep-alive
 * connections across pages, so often just the WebSocket's). When the page
 * landed on `taken`, extra plain connections shift the rotation before the
 * next try — one, then two, and so on, so that both parities are tried.
 */
async function openOnOtherWorker(browser: Browser, port: number, taken: number): Promise<ChatPage> {
  for (let attempt = 0; attempt < 6; attempt++) {
    const chat = await ChatPage.open(browser, port);
    if ((await chat.worker()) !== taken) return chat;
    await chat.close();
    for (let extra = 0; extra <= attempt; extra++) await spendOneConnection(port);
  }
  throw new Error(`every page landed on worker ${taken}`);
}

/** Two named users on different workers, both in `room`. */
async function twoUsersInRoom(browser: Browser, port: number, room: string): Promise<{ alice: ChatPage; bob: ChatPage }> {
  const alice = await ChatPage.open(browser, port);
  await alice.enterName('alice');
  await alice.createRoom(room);
  const bob = await openOnOtherWorker(browser, port, await alice.worker());
  await bob.enterName('bob');
  await bob.userCount(room, 1);
  await bob.joinRoom(room);
  await alice.notice('bob joined');
  await alice.userCount(room, 2);
  await bob.userCount(room, 2);
  return { alice, bob };
}

const describeWithChromium = chromiumAvailable() ? describe : describe.skip;
if (!chromiumAvailable()) {
  console.warn(
    `SKIPPED: browser tests (test/integration/browser-chat.test.ts) need Chromium at ${CHROMIUM_PATH}, which is missing. ` +
      'Install it with `apt-get install -y chromium` or set CHROMIUM_PATH.',
  );
}

describeWithChromium('the chat page in Chromium', () => {
  let browser: Browser;

  beforeAll(async () => {
    await (require('../../scripts/build-client.js') as { buildClient(): Promise<unknown> }).buildClient();
    browser = await launchChromium();
  });

  afterEach(async () => {
    await closeContexts();
    await closeAll();
  });

  afterAll(closeBrowsers);

  test('two users on different workers chat, see each other come and go, and user text stays text', async () => {
    const { server, port } = await startCluster();
    const { alice, bob } = await twoUsersInRoom(browser, port, 'garden');

    const aliceWorker = await alice.worker();
    const bobWorker = await bob.worker();
    expect(aliceWorker).not.toBe(bobWorker);
    await eventually('one client on each page\'s worker', () => clientsOn(server, aliceWorker) === 1 && clientsOn(server, bobWorker) === 1);
    await expect(alice.page.locator('#whoami').textContent()).resolves.toContain(`client ${await alice.clientId()} on worker ${aliceWorker}`);

    await alice.say('hi bob');
    await bob.message('alice', 'hi bob');
    await alice.message('alice', 'hi bob');
    await bob.say(INJECTION);
    const shown = await alice.message('bob', INJECTION);
    await expect(shown.textContent()).resolves.toBe(INJECTION);
    await expect(shown.isVisible()).resolves.toBe(true);
    for (const chat of [alice, bob]) {
      await expect(chat.page.locator('img').count()).resolves.toBe(0);
      expect(chat.dialogs).toEqual([]);
      expect(chat.errors).toEqual([]);
    }
    // The stylesheet applied under the CSP: the status pill has its own background.
    await expect(alice.page.evaluate("getComputedStyle(document.getElementById('status')).borderRadius")).resolves.toBe('999px');
    await alice.say('nice one');
    await bob.message('alice', 'nice one');

    mkdirSync(ARTIFACTS, { recursive: true });
    await alice.page.screenshot({ path: path.join(ARTIFACTS, 'chat-desktop.png') });
    await bob.page.setViewportSize({ width: 390, height: 720 });
    await bob.page.screenshot({ path: path.join(ARTIFACTS, 'chat-phone.png') });

    await bob.page.click('#leave');
    await alice.notice('bob left');
    await alice.userCount('garden', 1);
    await bob.userCount('garden', 1);
    await bob.joinRoom('garden');
    await alice.notice('bob joined');
    await alice.userCount('garden', 2);

    await bob.close();
    await alice.notice('bob left');
    await alice.userCount('garden', 1);
    await eventually('bob\'s client gone from the master', () => clientsOn(server, bobWorker) === 0);
  });

  test('a page whose worker is killed reconnects, rejoins its room and keeps chatting', async () => {
    const { server, port } = await startCluster();
    const { alice, bob } = await twoUsersInRoom(browser, port, 'deck');
    const doomed = await alice.worker();
    const before = await alice.clientId();
    const pid = server.stats().workers.find((entry) => entry.id === doomed)?.pid;
    if (pid === undefined) throw new Error(`no pid for worker ${doomed}`);

    await alice.recordStates();
    const exited = new Promise<void>((resolve) => {
      server.on('workerExit', function onExit(info) {
        if (info.workerId !== doomed) return;
        server.off('workerExit', onExit);
        resolve();
      });
    });
    process.kill(pid, 'SIGKILL');
    await exited;

    await alice.waitForSeenState('reconnecting');
    await bob.notice('alice left');
    await alice.waitForState('online');
    await alice.inRoom('deck');
    expect(await alice.clientId()).not.toBe(before);
    expect(await alice.worker()).not.toBe(doomed);
    await alice.notice('You rejoined deck.');
    await bob.notice('alice joined');
    await bob.userCount('deck', 2);
    await alice.userCount('deck', 2);

    await alice.say('back again');
    await bob.message('alice', 'back again');
    await bob.say('welcome back');
    await alice.message('bob', 'welcome back');
    mkdirSync(ARTIFACTS, { recursive: true });
    await alice.page.screenshot({ path: path.join(ARTIFACTS, 'chat-reconnected.png') });
    // The master forked a replacement for the killed worker (a fork took over 5 s on a 2-core machine at load 20: 15 s).
    await eventually('two ready workers again', () => server.stats().workers.filter((entry) => entry.ready).length === 2, 15_000);
  });

  test('a rolling reload (1012): both pages reconnect through the library, rejoin and keep chatting', async () => {
    const { server, port } = await startCluster();
    const { alice, bob } = await twoUsersInRoom(browser, port, 'porch');
    const before = [await alice.clientId(), await bob.clientId()];
    await alice.recordStates();
    await bob.recordStates();

    await server.reload();

    for (const chat of [alice, bob]) {
      await chat.waitForSeenState('reconnecting');
      await chat.waitForState('online');
      await chat.inRoom('porch');
    }
    // Every worker was replaced, so both pages hold new sockets.
    expect(await alice.clientId()).not.toBe(before[0]);
    expect(await bob.clientId()).not.toBe(before[1]);
    await alice.notice('Disconnected: the server is restarting. Reconnecting…');
    await alice.userCount('porch', 2);
    await bob.userCount('porch', 2);
    await alice.say('after the reload');
    await bob.message('alice', 'after the reload');
    await bob.say('still here');
    await alice.message('bob', 'still here');
    for (const chat of [alice, bob]) expect(chat.errors).toEqual([]);
    // A reload replaces every process one by one: on a loaded 2-core machine that alone took 20 s.
  }, 60_000);
});
