// signal.c and a real browser: Debian's Chromium driven by playwright-core.
// The chapter's page in three tabs, a page's own WebSocket to /echo, and the
// next chapter's video call (www/call.html) with Chromium's fake camera,
// including a new peer calling the one left behind when the other closed.
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
const LOAD_MS = 15000, CONNECT_MS = 20000;
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
  context = await browser.newContext({ viewport: { width: 700, height: 400 } });
  fs.mkdirSync(outDir, { recursive: true });
});

after(async () => {
  if (browser) await browser.close();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
  if (server) assert.equal(await server.stop('SIGTERM'), 0, 'signal exits 0 on SIGTERM');
});

// A tab that answers prompt() with `answer` and keeps its console lines and
// uncaught errors.
async function open(url, answer = '', init = null) {
  const page = await context.newPage();
  if (init) await page.addInitScript(init);
  page.lines = [];
  page.errors = [];
  page.on('console', (m) => page.lines.push(m.text()));
  page.on('pageerror', (e) => page.errors.push(String(e)));
  page.on('dialog', (d) => d.accept(answer));
  await page.goto(url, { timeout: LOAD_MS });
  return page;
}

// Waits until some console line of `page` matches `re`.
async function consoleShows(page, re, ms = 5000) {
  const end = Date.now() + ms;
  while (!page.lines.some((l) => re.test(l))) {
    if (Date.now() > end) {
      throw new Error(`console never showed ${re}; it showed:\n  ${page.lines.join('\n  ')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Before the chapter's own scripts run: note every room event its socket
// gets (main.js logs only some of them), as "[event] name args".
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

test("the chapter's page in three tabs: created, joined + ready, full", { timeout: 60000 }, async () => {
  const room = `chapter${process.pid}`;
  const tabs = [];
  try {
    const first = await open(`${base}/`, room, recordRoomEvents);
    tabs.push(first);
    assert.equal(await first.title(), 'Realtime communication with WebRTC');
    await consoleShows(first, new RegExp(`^Message from server: .*created.* ${room}`));
    await consoleShows(first, /^\[event\] created /);

    const second = await open(`${base}/`, room, recordRoomEvents);
    tabs.push(second);
    await consoleShows(second, new RegExp(`^Message from server: .*joined.* ${room}`));
    await consoleShows(second, /^\[event\] ready /);
    await consoleShows(first, /^\[event\] ready /);

    const third = await open(`${base}/`, room, recordRoomEvents);
    tabs.push(third);
    await consoleShows(third, new RegExp(`^Message from client: Room ${room} is full :\\^\\($`));

    for (const page of tabs) {
      assert.ok(page.lines.includes(`Message from client: Asking to join room ${room}`));
      assert.ok(page.lines.some((l) => l.startsWith('Message from server: ')), 'log events reach the console');
      assert.deepEqual(page.errors, []);
    }
    assert.deepEqual(events(first), ['created', 'join', 'ready']);
    assert.deepEqual(events(second), ['joined', 'ready']);
    assert.deepEqual(events(third), ['full']);
  } finally {
    for (const page of tabs) await page.close();
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
  } finally {
    await page.close();
  }
});

// --- the next chapter's video call -----------------------------------------

const callState = (page) => page.evaluate(() => ({
  state: window.pc ? window.pc.connectionState : null,
  remoteWidth: document.querySelector('#remoteVideo').videoWidth,
  remoteStream: !!document.querySelector('#remoteVideo').srcObject,
}));

// Waits for a connected call with moving remote video; on a timeout the
// error tells the page's state and its last console lines.
async function connectedCall(page) {
  try {
    await waitForCall(page);
  } catch (e) {
    const state = page.isClosed() ? 'closed' : JSON.stringify(await callState(page));
    throw new Error(`${e.message}\ncall state: ${state}\nconsole:\n  ${page.lines.slice(-15).join('\n  ')}`);
  }
}

async function waitForCall(page) {
  await page.waitForFunction(() => window.pc && window.pc.connectionState === 'connected',
                             null, { timeout: CONNECT_MS, polling: 100 });
  await page.waitForFunction(() => document.querySelector('#remoteVideo').videoWidth > 0,
                             null, { timeout: CONNECT_MS, polling: 100 });
  // Frames keep coming: the remote video's clock moves on.
  const t = await page.evaluate(() => document.querySelector('#remoteVideo').currentTime);
  await page.waitForFunction((t0) => document.querySelector('#remoteVideo').currentTime > t0 + 0.3,
                             t, { timeout: CONNECT_MS, polling: 100 });
}

async function snapshot(pages, file) {
  const shots = [];
  for (const p of pages) shots.push((await p.screenshot()).toString('base64'));
  const board = await context.newPage();
  await board.setViewportSize({ width: 700 * pages.length + 10 * (pages.length - 1), height: 400 });
  await board.setContent('<body style="margin:0;display:flex;gap:10px;background:#888">' +
    shots.map((s) => `<img src="data:image/png;base64,${s}">`).join('') + '</body>');
  await board.screenshot({ path: new URL(file, outDir).pathname });
  await board.close();
}

function noWebRtcErrors(page) {
  assert.deepEqual(page.lines.filter((l) => /error/i.test(l)), [], 'no error in the console');
  assert.deepEqual(page.errors, [], 'no uncaught exception');
}

test('video call: two pages connect; after one closes, a third calls the one left', { timeout: 180000 }, async () => {
  const room = `call${process.pid}`;
  const url = `${base}/call.html#${room}`;
  const pages = [];
  try {
    const a = await open(url);
    pages.push(a);
    await consoleShows(a, /^Created room /, LOAD_MS);
    const b = await open(url);
    pages.push(b);
    await connectedCall(a);
    await connectedCall(b);
    await snapshot([a, b], 'call.png');

    // b closes its tab: its 'bye' (pagehide) ends a's call; a waits.
    await b.close();
    await a.waitForFunction(() => window.pc === null, null, { timeout: CONNECT_MS, polling: 100 });
    assert.deepEqual(await callState(a), { state: null, remoteWidth: 0, remoteStream: false });

    // A new tab, same room (typed at the prompt this time: no #room),
    // no reload of a and no server restart.
    const c = await open(`${base}/call.html`, room);
    pages.push(c);
    await consoleShows(c, new RegExp(`^joined: ${room}$`), LOAD_MS);
    await connectedCall(c);
    await connectedCall(a);
    await snapshot([a, c], 'call-after-rejoin.png');

    // c hangs up with the button: both calls end.
    await c.click('#hangupButton');
    await a.waitForFunction(() => window.pc === null, null, { timeout: CONNECT_MS, polling: 100 });
    assert.equal((await callState(c)).state, null);

    for (const p of [a, c]) noWebRtcErrors(p);
  } finally {
    for (const p of pages) if (!p.isClosed()) await p.close();
  }
});
