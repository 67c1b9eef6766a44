// The demo page of the bundled chat service (protocol: src/services/examples/chat.ts).
// Plain browser JavaScript, no framework and no build step. Reconnection, the
// offline queue and resuming come from the client library the workers serve
// (switchyard/client, at /switchyard-client.js; docs/client.md).
// Safety rule: whatever a user typed or the server sent reaches the page through
// textContent, createTextNode or setAttribute, never as HTML.
import { connect } from '/switchyard-client.js';

(function main() {
  /** After this many failed attempts in a row the server looks gone: say "offline", keep trying. */
  const OFFLINE_AFTER_ATTEMPTS = 6;
  const NAME_KEY = 'switchyard-chat-name';

  const CLOSE_REASONS = {
    1000: 'closed',
    1001: 'the server is stopping',
    1006: 'the connection dropped',
    1011: 'server error',
    1012: 'the server is restarting',
    1013: 'the server is busy',
  };

  const el = {
    status: byId('status'),
    retry: byId('retry'),
    whoami: byId('whoami'),
    error: byId('error'),
    welcome: byId('welcome'),
    nameForm: byId('name-form'),
    name: byId('name'),
    nameButton: byId('name-button'),
    chat: byId('chat'),
    rooms: byId('rooms'),
    createForm: byId('create-form'),
    newRoom: byId('new-room'),
    roomTitle: byId('room-title'),
    leave: byId('leave'),
    members: byId('members'),
    messages: byId('messages'),
    sayForm: byId('say-form'),
    text: byId('text'),
    send: byId('send'),
  };

  const session = {
    client: null,
    state: 'connecting',
    /** The name the server accepted; said again after every reconnect. */
    name: '',
    /** The room the user chose; rejoined after every reconnect, '' for none. */
    wantedRoom: '',
    /** The room this connection is in right now. */
    room: '',
    /** The room whose messages the log shows, so a rejoin keeps the history on screen. */
    shownRoom: '',
    clientId: '',
    everOnline: false,
    errorTimer: 0,
    rooms: [],
    members: [],
  };

  function byId(id) {
    const node = document.getElementById(id);
    if (node === null) throw new Error('missing #' + id);
    return node;
  }

  function text(value) {
    return typeof value === 'string' ? value : '';
  }

  // ---- connection (the library reconnects, by the server's close codes) ----

  function start() {
    // A relative URL: the library makes it ws: or wss: like the page.
    session.client = connect('/chat', { onReconnect: resume });
    session.client.on('message', function onClientMessage(data) {
      if (typeof data === 'string') onMessage(data);
    });
    session.client.on('close', onDisconnect);
    session.client.on('reconnecting', function onReconnecting(info) {
      const offline = !navigator.onLine || info.attempt > OFFLINE_AFTER_ATTEMPTS;
      setState(offline ? 'offline' : 'reconnecting', reasonOf(info.code) + '; retry ' + info.attempt + ' in ' + (info.delay / 1000).toFixed(1) + ' s');
    });
    // The library gave up (a final close code): say so; the Retry button starts afresh.
    session.client.on('error', function onGaveUp(error) {
      setState('offline', error.message);
    });
    session.client.on('undelivered', function onUndelivered(info) {
      showError(info.messages.length + (info.messages.length === 1 ? ' message was' : ' messages were') + ' not sent.');
    });
  }

  function reasonOf(code) {
    return CLOSE_REASONS[code] || 'close code ' + code;
  }

  /** Before anything queued is flushed: say hello with the same name and rejoin the room. */
  function resume(client) {
    if (session.name !== '') client.send({ type: 'hello', name: session.name });
    // `create` joins an existing room and recreates one a restarted service forgot.
    if (session.name !== '' && session.wantedRoom !== '') client.send({ type: 'create', room: session.wantedRoom });
  }

  function onDisconnect(info) {
    const wasOnline = session.state === 'online';
    session.room = '';
    session.clientId = '';
    delete document.body.dataset.room;
    delete document.body.dataset.clientId;
    delete document.body.dataset.worker;
    session.members = [];
    renderRoom();
    if (wasOnline && session.everOnline) {
      addNotice('Disconnected: ' + reasonOf(info.code) + (info.reconnect ? '. Reconnecting…' : '.'), 'system');
    }
    if (!info.reconnect) setState('offline', reasonOf(info.code));
  }

  /** Sends now, or queues while reconnecting (flushed after the rejoin); what is refused comes back as 'undelivered'. */
  function send(message) {
    return session.client.send(message);
  }

  // ---- messages from the server -------------------------------------------

  function onMessage(data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch (error) {
      return;
    }
    if (message === null || typeof message !== 'object') return;
    switch (message.type) {
      case 'welcome':
        return onWelcome(message);
      case 'rooms':
        session.rooms = Array.isArray(message.rooms) ? message.rooms : [];
        return renderRooms();
      case 'named':
        return onNamed(text(message.name));
      case 'joined':
        return onJoined(text(message.room), Array.isArray(message.users) ? message.users.map(text) : []);
      case 'left':
        return onLeft();
      case 'message':
        if (message.room === session.room) addMessage(text(message.from), text(message.text), message.at);
        return;
      case 'notice':
        return onNotice(message);
      case 'error':
        return showError(text(message.message) || 'The server refused that.');
      default:
        return; // A newer server may say more; this page ignores what it does not know.
    }
  }

  function onWelcome(message) {
    const reconnected = session.everOnline;
    session.clientId = text(message.id);
    session.everOnline = true;
    // Client ids are `<worker>.<sequence>` in base 36: the first part names the worker holding this socket.
    const worker = session.clientId.split('.')[0] || '';
    document.body.dataset.clientId = session.clientId;
    document.body.dataset.worker = worker;
    const limits = message.limits || {};
    if (typeof limits.nameLength === 'number') el.name.maxLength = limits.nameLength;
    if (typeof limits.roomLength === 'number') el.newRoom.maxLength = limits.roomLength;
    if (typeof limits.textLength === 'number') el.text.maxLength = limits.textLength;
    setState('online');
    // `resumed`: same connection, but the chat service restarted and forgot us: resume as after a reconnect.
    if (message.resumed === true) {
      addNotice('The chat service restarted; rejoining.', 'system');
      resume(session.client);
    } else if (reconnected) addNotice('Reconnected (worker ' + parseInt(worker, 36) + ').', 'system');
    if (session.name === '') el.name.focus();
  }

  function onNamed(name) {
    session.name = name;
    try {
      localStorage.setItem(NAME_KEY, name);
    } catch (error) {
      // Storage may be disabled; remembering the name is only a convenience.
    }
    el.welcome.hidden = true;
    el.chat.hidden = false;
    renderWhoami();
    if (session.wantedRoom === '' && (document.activeElement === el.name || document.activeElement === el.nameButton)) el.newRoom.focus();
  }

  function onJoined(room, users) {
    const rejoined = room === session.shownRoom;
    session.room = room;
    session.wantedRoom = room;
    session.members = users.slice();
    document.body.dataset.room = room;
    if (!rejoined) {
      el.messages.replaceChildren();
      session.shownRoom = room;
    }
    addNotice((rejoined ? 'You rejoined ' : 'You joined ') + room + '.', 'self');
    renderRoom();
    renderRooms();
    el.text.focus();
  }

  function onLeft() {
    if (session.room !== '') addNotice('You left ' + session.room + '.', 'self');
    session.wantedRoom = '';
    session.room = '';
    session.shownRoom = '';
    delete document.body.dataset.room;
    renderRoom();
    renderRooms();
  }

  function onNotice(message) {
    if (message.room !== session.room) return;
    const name = text(message.name);
    if (message.event === 'join') {
      session.members.push(name);
      addNotice(name + ' joined', 'join');
    } else if (message.event === 'leave') {
      const index = session.members.indexOf(name);
      if (index !== -1) session.members.splice(index, 1);
      addNotice(name + ' left', 'leave');
    } else {
      addNotice(text(message.text), 'system');
    }
    renderMembers();
  }

  // ---- rendering ------------------------------------------------------------

  function setState(state, detail) {
    session.state = state;
    el.status.dataset.state = state;
    el.status.textContent = state === 'connecting' || state === 'reconnecting' ? state + '…' : state;
    el.status.title = detail || '';
    el.retry.hidden = state === 'online' || state === 'connecting';
    renderWhoami();
    renderControls();
  }

  function renderWhoami() {
    if (session.name === '' || session.clientId === '') {
      el.whoami.hidden = true;
      return;
    }
    const worker = parseInt(session.clientId.split('.')[0], 36);
    el.whoami.hidden = false;
    el.whoami.replaceChildren(
      document.createTextNode('You are '),
      strong(session.name),
      document.createTextNode(' · client ' + session.clientId + ' on worker ' + worker),
    );
  }

  function strong(value) {
    const node = document.createElement('strong');
    node.textContent = value;
    return node;
  }

  function renderControls() {
    const online = session.state === 'online';
    el.name.disabled = !online;
    el.nameButton.disabled = !online;
    const inRoom = online && session.room !== '';
    el.text.disabled = !inRoom;
    el.send.disabled = !inRoom;
    el.text.placeholder = inRoom ? 'Message ' + session.room : online ? 'Join a room to chat' : 'Waiting for the connection…';
  }

  function renderRooms() {
    const items = session.rooms.map(function roomItem(room) {
      const name = text(room && room.name);
      const users = room && typeof room.users === 'number' ? room.users : 0;
      const item = document.createElement('li');
      item.dataset.room = name;
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'room-button';
      if (name === session.room) {
        item.className = 'current';
        button.setAttribute('aria-current', 'true');
      }
      const label = document.createElement('span');
      label.className = 'room-name';
      label.textContent = name;
      const count = document.createElement('span');
      count.className = 'count';
      count.textContent = String(users);
      count.title = users === 1 ? '1 person here' : users + ' people here';
      button.append(label, count);
      button.addEventListener('click', function joinRoom() {
        if (name !== session.room) send({ type: 'join', room: name });
      });
      item.append(button);
      return item;
    });
    el.rooms.replaceChildren.apply(el.rooms, items);
  }

  function renderRoom() {
    el.roomTitle.textContent = session.room !== '' ? session.room : session.wantedRoom !== '' ? session.wantedRoom + ' (rejoining…)' : 'Pick a room';
    el.leave.hidden = session.room === '';
    renderMembers();
    renderControls();
  }

  function renderMembers() {
    if (session.room === '') {
      el.members.textContent = '';
      return;
    }
    el.members.textContent = session.members.length === 0 ? '' : 'Here: ' + session.members.join(', ');
  }

  function addMessage(from, body, at) {
    const item = document.createElement('li');
    item.className = from === session.name ? 'message mine' : 'message';
    const meta = document.createElement('div');
    meta.className = 'meta';
    const author = document.createElement('span');
    author.className = 'from';
    author.textContent = from;
    const time = document.createElement('time');
    const date = new Date(typeof at === 'number' ? at : Date.now());
    time.dateTime = date.toISOString();
    time.textContent = date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    meta.append(author, time);
    const content = document.createElement('p');
    content.className = 'text';
    content.textContent = body;
    item.append(meta, content);
    append(item);
  }

  function addNotice(value, kind) {
    const item = document.createElement('li');
    item.className = 'notice ' + kind;
    item.textContent = value;
    append(item);
  }

  function append(item) {
    const list = el.messages;
    // Follow new messages only when the reader is already at the bottom.
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.append(item);
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  function showError(message) {
    el.error.textContent = message;
    el.error.hidden = false;
    clearTimeout(session.errorTimer);
    session.errorTimer = setTimeout(function hideError() {
      el.error.hidden = true;
    }, 6000);
  }

  // ---- user actions -----------------------------------------------------------

  el.nameForm.addEventListener('submit', function onNameSubmit(event) {
    event.preventDefault();
    const name = el.name.value.trim();
    if (name !== '') send({ type: 'hello', name: name });
  });

  el.createForm.addEventListener('submit', function onCreateSubmit(event) {
    event.preventDefault();
    const room = el.newRoom.value.trim();
    if (room !== '' && send({ type: 'create', room: room })) el.newRoom.value = '';
  });

  el.sayForm.addEventListener('submit', function onSaySubmit(event) {
    event.preventDefault();
    const value = el.text.value;
    if (value.trim() !== '' && send({ type: 'say', text: value })) el.text.value = '';
  });

  el.leave.addEventListener('click', function onLeaveClick() {
    send({ type: 'leave' });
  });

  // While waiting to reconnect: try now; after the library gave up: start afresh.
  el.retry.addEventListener('click', function onRetryClick() {
    if (session.client.state === 'closed') start();
    else session.client.reconnectNow();
  });

  // The library reconnects at once when the browser is back online ('online').
  window.addEventListener('offline', function onBrowserOffline() {
    if (session.client.state !== 'open') setState('offline', 'the browser has no network');
  });

  // A background tab may have been waiting out a long delay; try at once when it is looked at again.
  document.addEventListener('visibilitychange', function onVisible() {
    if (document.visibilityState === 'visible') session.client.reconnectNow();
  });

  try {
    el.name.value = localStorage.getItem(NAME_KEY) || '';
  } catch (error) {
    // No storage: start with an empty name.
  }
  renderRoom();
  setState('connecting');
  start();
})();
