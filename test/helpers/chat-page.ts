/**
 * One user of the demo chat page (public/index.html) in Chromium: a page in
 * its own browser context, driven through the page's own controls and read
 * from its DOM (the data- attributes the page sets for tests and scripts).
 */
import type { Browser, Page } from 'playwright-core';
import { newContext } from './browser';

export function exactly(text: string): RegExp {
  return new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
}

/** One user: a page in its own browser context. */
export class ChatPage {
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
