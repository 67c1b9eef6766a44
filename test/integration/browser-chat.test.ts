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
import type { Browser } from 'playwright-core';
import type { SwitchyardServer } from '../../src/master/server';
import { describeInChromium } from '../helpers/browser';
import { ChatPage } from '../helpers/chat-page';
import { closeAll, startCluster } from '../helpers/cluster';

const ARTIFACTS = path.join(__dirname, '..', '..', 'artifacts');
const INJECTION = '<img src=x onerror=alert(1)>';

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

describeInChromium('the chat page in Chromium', { file: __filename, buildClient: true, afterEach: closeAll }, (browser) => {
  test('two users on different workers chat, see each other come and go, and user text stays text', async () => {
    const { server, port } = await startCluster();
    const { alice, bob } = await twoUsersInRoom(browser(), port, 'garden');

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
    const { alice, bob } = await twoUsersInRoom(browser(), port, 'deck');
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
    const { alice, bob } = await twoUsersInRoom(browser(), port, 'porch');
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
