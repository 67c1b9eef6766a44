/**
 * The demo chat page in a real Chromium against the bundled chat run as two
 * instances (docs/instances.md): two users whose connections are owned by
 * different instances see one room list with the right counts, each other's
 * notices and messages.
 */
import { bundledServices } from '../../src/options';
import { ownerOf } from '../../src/rendezvous';
import { describeInChromium } from '../helpers/browser';
import { ChatPage } from '../helpers/chat-page';
import { closeAll, startCluster } from '../helpers/cluster';

/** The chat instance that owns a page's connection: the chat shards by client id. */
async function instanceOf(chat: ChatPage): Promise<number> {
  return ownerOf(`c:${await chat.clientId()}`, 2);
}

describeInChromium('the chat page against two chat instances', { file: __filename, afterEach: closeAll }, (browser) => {
  // Two TypeScript chat processes and Chromium: a loaded 2-core machine takes a while.
  jest.setTimeout(120_000);
  test('two users owned by different instances share the room list, its counts, notices and messages', async () => {
    const { port, server } = await startCluster({ startTimeout: 90_000, services: { chat: { module: bundledServices().chat, instances: 2 } } });
    expect(server.stats().services.map((s) => s.instance)).toEqual([0, 1]);
    const alice = await ChatPage.open(browser(), port);
    await alice.enterName('alice');
    await alice.createRoom('garden');
    // Pages until one is owned by the other instance (each new connection is a fresh client id).
    let bob = await ChatPage.open(browser(), port);
    for (let tries = 0; (await instanceOf(bob)) === (await instanceOf(alice)) && tries < 10; tries++) {
      await bob.page.context().close();
      bob = await ChatPage.open(browser(), port);
    }
    expect(await instanceOf(bob)).not.toBe(await instanceOf(alice));

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
