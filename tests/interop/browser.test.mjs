// signal.c and a real browser: Debian's Chromium driven by playwright-core.
// What a learner sees, read from the pages' visible text (not the console):
// the chapter's page in three tabs, a page's own WebSocket to /echo, the
// next chapter's video call (www/call.html) and photo sharing over a data
// channel (www/photo.html) with Chromium's fake camera, and the pages
// rejoining their rooms after the server restarts.  No page may log a
// console error or fail a request (a favicon 404 included).
// Screenshots go to tests/interop/out/.
// Rules: /work/shared/spec/behaviour.md; the flows: /work/shared/codelab/reference.md.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { start } from './server.mjs';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'];
const LOAD_MS = 15000, CONNECT_MS = 20000, SHOW_MS = 5000;
const VIEW = { width: 760, height: 600 };
const outDir = new URL('./out/', import.meta.url);

let server, browser, context, profile, base;

before(async () => {
  server = await start();
  base = `http://127.0.0.1:${server.port}`;
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'interop-chromium-'));
  // Exactly our flags: no Playwright defaults, only the pipe it talks over.
  browser = await chromium.launch({
    executablePath: CHROMIUM, ignoreDefaultArgs: true, timeout: LOAD_MS,
    args: [...FLAGS, `--user-data-dir=${profile}`, '--remote-debugging-pipe'],
  });
  context = await browser.newContext({ viewport: VIEW });
  fs.mkdirSync(outDir, { recursive: true });
});

after(async () => {
  if (browser) await browser.close();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
  if (server) assert.equal(await server.stop('SIGTERM'), 0, 'signal exits 0 on SIGTERM');
});

// The official socket.io-client's browser build, to serve in place of ours.
const OFFICIAL = fs.readFileSync(new URL('./node_modules/socket.io-client/dist/socket.io.min.js', import.meta.url));

// A tab that answers prompt() with `answer` and keeps its console lines,
// its console errors, its uncaught exceptions and its failed requests.
// With `official`, the page gets the official client as /socket.io/socket.io.js.
async function open(url, answer = '', init = null, official = false) {
  const page = await context.newPage();
  if (init) await page.addInitScript(init);
  if (official) {
    await page.route('**/socket.io/socket.io.js', (route) =>
      route.fulfill({ status: 200, contentType: 'text/javascript; charset=utf-8', body: OFFICIAL }));
  }
  page.lines = [];
  page.consoleErrors = [];
  page.errors = [];
  page.failed = [];
  page.on('console', (m) => {
    page.lines.push(m.text());
    if (m.type() === 'error') page.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => page.errors.push(String(e)));
  page.on('requestfailed', (r) => page.failed.push(`${r.url()}: ${r.failure()?.errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) page.failed.push(`${r.url()}: ${r.status()}`); });
  page.on('dialog', (d) => d.accept(answer));
  await page.goto(url, { timeout: LOAD_MS });
  return page;
}

// No console error, no uncaught exception, no failed request.  `allowed`
// matches console errors that the test caused on purpose.
function noErrors(page, allowed = null) {
  const errors = page.consoleErrors.filter((e) => !(allowed && allowed.test(e)));
  assert.deepEqual(errors, [], `no console error on ${page.url()}`);
  assert.deepEqual(page.errors, [], `no uncaught exception on ${page.url()}`);
  assert.deepEqual(page.failed, [], `no failed request on ${page.url()}`);
}

// The visible text of `selector` (innerText: what is rendered).
const text = (page, selector) => page.innerText(selector);
const logLines = (page) => page.$$eval('#log li', (items) => items.map((li) => li.innerText));

// Waits until the visible text of `selector` matches `re`; on a timeout
// the error shows what the page says.
async function shows(page, selector, re, ms = SHOW_MS) {
  try {
    await page.waitForFunction(([sel, src, flags]) => {
      const el = document.querySelector(sel);
      return el && new RegExp(src, flags).test(el.innerText);
    }, [selector, re.source, re.flags], { timeout: ms, polling: 50 });
  } catch (e) {
    const body = page.isClosed() ? '(closed)' : await page.innerText('body');
    throw new Error(`${page.url()}: ${selector} never showed ${re}; the page shows:\n${body}`);
  }
}

// Waits for a line of the page's log that matches `re`; returns the index
// of the first such line.
async function logShows(page, re, ms = SHOW_MS) {
  try {
    await page.waitForFunction(([src, flags]) => [...document.querySelectorAll('#log li')]
      .some((li) => new RegExp(src, flags).test(li.innerText)),
    [re.source, re.flags], { timeout: ms, polling: 50 });
  } catch (e) {
    const lines = page.isClosed() ? ['(closed)'] : await logLines(page);
    throw new Error(`${page.url()}: no line of #log matched ${re}; its lines:\n  ${lines.join('\n  ')}`);
  }
  return (await logLines(page)).findIndex((l) => re.test(l));
}

const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// The whole page, no taller than its content.  (A tab in the background
// draws nothing: bring it to the front first.)
async function shot(page, file) {
  await page.bringToFront();
  await page.setViewportSize({ width: VIEW.width, height: 100 });
  await page.screenshot({ path: new URL(file, outDir).pathname, fullPage: true });
  await page.setViewportSize(VIEW);
}

// Pages side by side in one picture.
async function snapshot(pages, file) {
  const shots = [];
  for (const p of pages) {
    await p.bringToFront();
    shots.push((await p.screenshot()).toString('base64'));
  }
  const board = await context.newPage();
  await board.setViewportSize({ width: VIEW.width * pages.length + 10 * (pages.length - 1),
                                height: VIEW.height });
  await board.setContent('<body style="margin:0;display:flex;gap:10px;background:#888">' +
    shots.map((s) => `<img src="data:image/png;base64,${s}">`).join('') + '</body>');
  await board.screenshot({ path: new URL(file, outDir).pathname });
  await board.close();
}

// Before the chapter's own scripts run: note every room event its socket
// gets, as "[event] name args", to check the page against the wire.
function recordRoomEvents() {
  let real;
  Object.defineProperty(window, 'io', {
    configurable: true,
    get() { return real; },
    set(io) {
      real = function () {
        const socket = io.apply(this, arguments);
        for (const name of ['created', 'join', 'joined', 'ready', 'full']) {
          socket.on(name, (...args) => console.log(`[event] ${name} ${JSON.stringify(args)}`));
        }
        return socket;
      };
      real.connect = real;
    },
  });
}

const events = (page) => page.lines.filter((l) => l.startsWith('[event] ')).map((l) => l.split(' ')[1]);
const consoleLines = (page) => page.lines.filter((l) => !l.startsWith('[event] '));

// --- the chapter's page ----------------------------------------------------

test("the chapter's page in three tabs shows created, joined + ready, full", { timeout: 60000 }, async () => {
  const room = `chapter${process.pid}`;
  const r = esc(room);
  const tabs = [];
  try {
    const first = await open(`${base}/`, room, recordRoomEvents);
    tabs.push(first);
    assert.equal(await first.title(), 'Realtime communication with WebRTC');
    assert.equal(await text(first, 'h1'), 'Realtime communication with WebRTC');
    await shows(first, '#connection', /^connected, socket id \S{20}$/);
    const created = await logShows(first, new RegExp(`^Message from client: Created room ${r}: we are the first in it; waiting for a peer$`));
    await shows(first, '#room', new RegExp(`^${r} — created, waiting for a peer$`));

    const second = await open(`${base}/`, room, recordRoomEvents);
    tabs.push(second);
    const joined = await logShows(second, new RegExp(`^Message from client: Joined room ${r}: a peer was waiting in it$`));
    const ready2 = await logShows(second, new RegExp(`^Message from client: Room ${r} is ready: two peers are in it$`));
    await shows(second, '#room', new RegExp(`^${r} — ready, two peers in it$`));
    const peer = await logShows(first, new RegExp(`^Message from client: A peer joined room ${r}$`));
    const ready1 = await logShows(first, new RegExp(`^Message from client: Room ${r} is ready: two peers are in it$`));
    await shows(first, '#room', new RegExp(`^${r} — ready, two peers in it$`));
    assert.ok(created < peer && peer < ready1, 'first tab: created, then a peer joined, then ready');
    assert.ok(joined < ready2, 'second tab: joined, then ready');

    const third = await open(`${base}/`, room, recordRoomEvents);
    tabs.push(third);
    await logShows(third, new RegExp(`^Message from client: Room ${r} is full :\\^\\($`));
    await shows(third, '#room', new RegExp(`^${r} — full, two peers are in it already$`));

    for (const [i, page] of tabs.entries()) {
      const lines = await logLines(page);
      assert.equal(lines[0], `Message from client: Asking to join room ${room}`);
      assert.ok(lines.some((l) => new RegExp(`^Message from server: Received request to create or join room ${r}$`).test(l)),
                'the server\'s log lines are on the page');
      // The page shows the console's lines, the same and in the same order.
      assert.deepEqual(lines, consoleLines(page), 'the page and the console agree');
      await shot(page, `tab${i + 1}.png`);
      noErrors(page);
    }
    assert.deepEqual(events(first), ['created', 'join', 'ready']);
    assert.deepEqual(events(second), ['joined', 'ready']);
    assert.deepEqual(events(third), ['full']);
  } finally {
    for (const page of tabs) await page.close();
  }
});

test('an empty room name says so on the page', { timeout: 30000 }, async () => {
  const page = await open(`${base}/`, '');
  try {
    await shows(page, '#connection', /^connected, socket id /);
    assert.deepEqual(await logLines(page),
      ['Message from client: No room name given, so no room joined. Reload the page and enter one.']);
    assert.equal(await text(page, '#room'), 'none (the room name was empty; reload to enter one)');
    noErrors(page);
  } finally {
    await page.close();
  }
});

test("a page's own WebSocket to /echo gets its messages back", { timeout: 30000 }, async () => {
  const page = await open(`${base}/`, '');
  try {
    const result = await page.evaluate(async (url) => {
      const ws = new WebSocket(url);
      ws.binaryType = 'arraybuffer';
      const replies = [];
      const waiting = [];
      ws.onmessage = (e) => { replies.push(e.data); if (waiting.length) waiting.shift()(); };
      await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
      const bytes = new Uint8Array(256).map((_, i) => i);
      const big = 'x'.repeat(100000);                    // a 64-bit length frame
      const sent = ['hello from the page \u2713', bytes.buffer, big];
      for (const m of sent) {
        const got = new Promise((r) => waiting.push(r));
        ws.send(m);
        await Promise.race([got, new Promise((r) => setTimeout(r, 5000))]);
      }
      ws.close();
      return {
        text: replies[0],
        binary: replies[1] instanceof ArrayBuffer ? Array.from(new Uint8Array(replies[1])) : null,
        bigLength: typeof replies[2] === 'string' ? replies[2].length : -1,
        bigSame: replies[2] === big,
        count: replies.length,
      };
    }, `ws://127.0.0.1:${server.port}/echo`);
    assert.equal(result.count, 3);
    assert.equal(result.text, 'hello from the page \u2713');
    assert.deepEqual(result.binary, Array.from({ length: 256 }, (_, i) => i));
    assert.equal(result.bigLength, 100000);
    assert.ok(result.bigSame);
    noErrors(page);
  } finally {
    await page.close();
  }
});

// --- the next chapter's video call -----------------------------------------

const callState = (page) => page.evaluate(() => ({
  pc: window.pc ? window.pc.connectionState : null,
  remoteWidth: document.querySelector('#remoteVideo').videoWidth,
  remoteStream: !!document.querySelector('#remoteVideo').srcObject,
  shown: document.querySelector('#state').innerText,
}));

// Waits for a connected call that says so, with moving remote video; on a
// timeout the error tells the page's state and its last console lines.
async function connectedCall(page) {
  try {
    await waitForCall(page);
  } catch (e) {
    const state = page.isClosed() ? 'closed' : JSON.stringify(await callState(page));
    throw new Error(`${e.message}\ncall state: ${state}\nconsole:\n  ${page.lines.slice(-15).join('\n  ')}`);
  }
}

async function waitForCall(page) {
  await shows(page, '#state', /^connected$/, CONNECT_MS);
  assert.equal(await page.evaluate(() => window.pc && window.pc.connectionState), 'connected');
  await page.waitForFunction(() => document.querySelector('#remoteVideo').videoWidth > 0,
                             null, { timeout: CONNECT_MS, polling: 100 });
  // Frames keep coming: the remote video's clock moves on.
  const t = await page.evaluate(() => document.querySelector('#remoteVideo').currentTime);
  await page.waitForFunction((t0) => document.querySelector('#remoteVideo').currentTime > t0 + 0.3,
                             t, { timeout: CONNECT_MS, polling: 100 });
}

// Each video has its label just above it.
async function labelled(page) {
  const labels = await page.$$eval('figure', (figs) => figs.map((f) => [
    f.querySelector('figcaption').innerText, f.querySelector('video').id]));
  assert.deepEqual(labels, [['you', 'localVideo'], ['peer', 'remoteVideo']]);
}

test('video call: labelled, with its state; a closed tab, a new peer, a hang-up', { timeout: 180000 }, async () => {
  const room = `call${process.pid}`;
  const url = `${base}/call.html#${room}`;
  const pages = [];
  try {
    const a = await open(url);
    pages.push(a);
    await shows(a, '#state', /^waiting for a peer: open this page in another tab$/, LOAD_MS);
    assert.equal(await text(a, '#room'), room);
    const b = await open(url);
    pages.push(b);
    await connectedCall(a);
    await connectedCall(b);
    for (const p of [a, b]) await labelled(p);
    await snapshot([a, b], 'call.png');

    // b closes its tab: its 'bye' (pagehide) ends a's call; a waits.
    noErrors(b);
    await b.close();
    await shows(a, '#state', /^peer left; waiting for a peer$/, CONNECT_MS);
    assert.deepEqual(await callState(a),
                     { pc: null, remoteWidth: 0, remoteStream: false, shown: 'peer left; waiting for a peer' });

    // A new tab, same room (typed at the prompt this time: no #room),
    // no reload of a and no server restart.
    const c = await open(`${base}/call.html`, room);
    pages.push(c);
    await shows(c, '#state', /^joined a waiting peer: connecting…$|^connected$/, LOAD_MS);
    await connectedCall(c);
    await connectedCall(a);

    // c hangs up with the button: both calls end, and both pages say why.
    await c.click('#hangupButton');
    await shows(c, '#state', new RegExp(`^hung up: you left room ${esc(room)}; reload the page to call again$`));
    await shows(a, '#state', /^peer hung up; waiting for a peer$/, CONNECT_MS);
    assert.equal((await callState(a)).pc, null);
    assert.equal((await callState(c)).pc, null);
    assert.ok(await c.isDisabled('#hangupButton'));
    await snapshot([a, c], 'call-hangup.png');

    for (const p of [a, c]) noErrors(p);
    assert.deepEqual(a.lines.filter((l) => /error/i.test(l)), [], 'no WebRTC error logged');
  } finally {
    for (const p of pages) if (!p.isClosed()) await p.close();
  }
});

test('a full call room says so', { timeout: 60000 }, async () => {
  const room = `callfull${process.pid}`;
  const pages = [];
  try {
    for (let i = 0; i < 3; i++) {
      pages.push(await open(`${base}/call.html#${room}`));
      if (i === 0) await shows(pages[0], '#state', /^waiting for a peer/, LOAD_MS);
    }
    await shows(pages[2], '#state',
                new RegExp(`^room ${esc(room)} is full: two peers are in it already; try another room$`), LOAD_MS);
    for (const p of pages) noErrors(p);
  } finally {
    for (const p of pages) await p.close();
  }
});

// --- the step after: a photo over a data channel ----------------------------

// SHA-256 and size of a canvas's pixels, computed here rather than by the page.
const canvasDigest = (page, selector) => page.evaluate(async (sel) => {
  const canvas = document.querySelector(sel);
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  const hash = await crypto.subtle.digest('SHA-256', data);
  let nonBlack = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i] + data[i + 1] + data[i + 2] > 30) nonBlack++;
  return {
    width: canvas.width, height: canvas.height, bytes: data.length, nonBlack,
    sha256: Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, '0')).join(''),
  };
}, selector);

// `from` snaps and sends; `to` shows the same pixels, all of them.
async function sendPhoto(from, to, count) {
  await from.waitForFunction(() => document.querySelector('#camera').videoWidth > 0,
                             null, { timeout: LOAD_MS, polling: 100 });
  await from.click('#snapButton');
  const got = new RegExp(`^Received photo ${count}: (\\d+)×(\\d+), ([\\d,]+) bytes, SHA-256 ([0-9a-f]{16})… in (\\d+) chunks$`);
  await from.click('#sendButton');
  const sentRe = new RegExp(`^Sent photo ${count}: (\\d+)×(\\d+), ([\\d,]+) bytes, SHA-256 ([0-9a-f]{16})… in (\\d+) chunks$`);
  await logShows(from, sentRe, CONNECT_MS);
  await logShows(to, got, CONNECT_MS);
  await shows(to, '#state', new RegExp(`^connected: photo ${count} received$`));

  const sent = (await logLines(from)).filter((l) => sentRe.test(l)).pop().match(sentRe);
  const recv = (await logLines(to)).filter((l) => got.test(l)).pop().match(got);
  const mine = await canvasDigest(from, '#snapshot');
  const theirs = await canvasDigest(to, '#received');
  // Whole: the same size and the same bytes as the sender's snapshot.
  assert.equal(theirs.bytes, mine.bytes);
  assert.equal(mine.bytes, mine.width * mine.height * 4);
  assert.equal(theirs.sha256, mine.sha256, 'the received pixels are the sent pixels');
  assert.ok(mine.nonBlack > mine.width * mine.height / 10, 'the photo is not blank');
  // What the pages say agrees with that, and with 64,000-byte chunks.
  assert.deepEqual(recv.slice(1), sent.slice(1), 'both pages describe the same photo');
  assert.equal(Number(sent[3].replace(/,/g, '')), mine.bytes);
  assert.equal(sent[4], mine.sha256.slice(0, 16));
  assert.equal(Number(sent[5]), Math.ceil(mine.bytes / 64000));
}

test('photo: snapped in one tab, sent over a data channel in chunks, whole in the other', { timeout: 120000 }, async () => {
  const room = `photo${process.pid}`;
  const url = `${base}/photo.html#${room}`;
  const pages = [];
  try {
    const a = await open(url);
    pages.push(a);
    await shows(a, '#state', /^waiting for a peer: /, LOAD_MS);
    const b = await open(url);
    pages.push(b);
    for (const p of [a, b]) {
      await shows(p, '#state', /^connected: snap a photo and send it$/, CONNECT_MS);
    }
    await sendPhoto(a, b, 1);               // the offerer's channel end
    await sendPhoto(b, a, 1);               // and the answerer's
    await sendPhoto(a, b, 2);               // a second one, a new snapshot
    await snapshot([a, b], 'photo.png');

    noErrors(b);
    await b.close();
    await shows(a, '#state', /^peer left; waiting for a peer$/, CONNECT_MS);
    noErrors(a);
  } finally {
    for (const p of pages) if (!p.isClosed()) await p.close();
  }
});

test('a photo page without a room makes one and puts it in the address', { timeout: 30000 }, async () => {
  const page = await open(`${base}/photo.html`);
  try {
    await shows(page, '#state', /^waiting for a peer: /, LOAD_MS);
    const room = await text(page, '#room');
    assert.match(room, /^photos-[a-z0-9]+$/);
    assert.equal(new URL(page.url()).hash, `#${room}`);
    noErrors(page);
  } finally {
    await page.close();
  }
});

// --- a server restart --------------------------------------------------------

// While the server is down, Chromium itself logs each refused WebSocket as
// a console error; those, and only those, are expected here.
const REFUSED = /^WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/socket\.io\/\?EIO=4&transport=websocket' failed: .*ERR_CONNECTION_REFUSED/;

test('after a server restart the pages reconnect, say so and rejoin their rooms', { timeout: 120000 }, async () => {
  let own = await start();                  // a server of its own, to restart
  const port = own.port;
  const room = `restart${process.pid}`;
  const r = esc(room);
  const pages = [];
  try {
    const tab = await open(`http://127.0.0.1:${port}/`, room);
    pages.push(tab);
    await logShows(tab, new RegExp(`^Message from client: Created room ${r}: `));
    const before = (await text(tab, '#connection')).match(/^connected, socket id (\S+)$/)[1];

    const callUrl = `http://127.0.0.1:${port}/call.html#${room}-call`;
    const a = await open(callUrl);
    pages.push(a);
    await shows(a, '#state', /^waiting for a peer/, LOAD_MS);
    const b = await open(callUrl);
    pages.push(b);
    await connectedCall(a);
    await connectedCall(b);

    assert.equal(await own.stop('SIGTERM'), 0);
    await shows(tab, '#connection', /^disconnected/);
    await logShows(tab, /^Message from client: Lost the server \(transport close\); trying to reconnect$/);
    own = await start(port);                // the same port: the pages' address

    const back = await logShows(tab, /^Message from client: Reconnected with a new socket id \S{20}, in no room$/, CONNECT_MS);
    const again = await logShows(tab, new RegExp(`^Message from client: Asking to join room ${r} again$`));
    await shows(tab, '#connection', new RegExp(`^reconnected, new socket id (\\S{20}); rejoined room ${r}$`));
    const lines = await logLines(tab);
    const created = lines.findIndex((l, i) => i > again && new RegExp(`^Message from client: Created room ${r}: `).test(l));
    assert.ok(back < again && again < created, `reconnected, asked again, created: ${lines.join(' | ')}`);
    const after = (await text(tab, '#connection')).match(/socket id (\S+);/)[1];
    assert.notEqual(after, before, 'a new socket id');
    await shot(tab, 'restart.png');

    // The two call pages are back in their room and call again.
    for (const p of [a, b]) {
      await shows(p, '#connection', new RegExp(`^reconnected, new socket id \\S{20}; rejoined room ${r}-call$`), CONNECT_MS);
    }
    await connectedCall(a);
    await connectedCall(b);
    await snapshot([tab, a], 'restart-call.png');

    for (const p of pages) noErrors(p, REFUSED);
  } finally {
    for (const p of pages) if (!p.isClosed()) await p.close();
    assert.equal(await own.stop('SIGTERM'), 0);
  }
});

// main.js passes io.connect() the option the official client needs
// (transports: ['websocket']), and listens only for events both clients
// have: with the official client in place of ours the page works the same,
// through a restart too.
test('the chapter\'s page with the official client: created, joined + ready, and a restart', { timeout: 120000 }, async () => {
  let own = await start();
  const port = own.port;
  const room = `official${process.pid}`;
  const r = esc(room);
  const tabs = [];
  try {
    const url = `http://127.0.0.1:${port}/`;
    const first = await open(url, room, null, true);
    tabs.push(first);
    assert.ok(await first.evaluate(() => typeof io.Manager === 'function'), 'the official client is in use');
    await logShows(first, new RegExp(`^Message from client: Created room ${r}: `), LOAD_MS);
    const second = await open(url, room, null, true);
    tabs.push(second);
    await logShows(second, new RegExp(`^Message from client: Joined room ${r}: `), LOAD_MS);
    for (const t of tabs) await shows(t, '#room', new RegExp(`^${r} — ready, two peers in it$`));
    await logShows(first, new RegExp(`^Message from client: A peer joined room ${r}$`));

    assert.equal(await own.stop('SIGTERM'), 0);
    for (const t of tabs) await shows(t, '#connection', /^disconnected/);
    own = await start(port);
    // Back in whatever order the two reconnect: one creates, one joins,
    // and both are ready again.
    for (const t of tabs) {
      await logShows(t, new RegExp(`^Message from client: Asking to join room ${r} again$`), CONNECT_MS);
      await shows(t, '#connection', new RegExp(`^reconnected, new socket id \\S{20}; rejoined room ${r}$`), CONNECT_MS);
    }
    for (const t of tabs) await shows(t, '#room', new RegExp(`^${r} — ready, two peers in it$`), CONNECT_MS);
    const readies = await Promise.all(tabs.map(async (t) =>
      (await logLines(t)).filter((l) => l === `Message from client: Room ${room} is ready: two peers are in it`).length));
    assert.deepEqual(readies, [2, 2], 'ready before and after the restart');
    for (const t of tabs) noErrors(t, REFUSED);
  } finally {
    for (const t of tabs) if (!t.isClosed()) await t.close();
    assert.equal(await own.stop('SIGTERM'), 0);
  }
});
