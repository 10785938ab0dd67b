// signal.c and the official socket.io-client 4 (WebSocket transport only):
// the chapter's create-or-join flow, the next chapter's messages, ipaddr,
// leaving and rejoining, and reconnection after a server restart.
// Rules: /work/shared/spec/behaviour.md, "Engine.IO v4 and Socket.IO v5" and
// "Rooms"; event shapes: /work/shared/codelab/reference.md.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { io } from 'socket.io-client';
import { start } from './server.mjs';

let server;
const sockets = [];
let roomCount = 0;
const newRoom = () => `room-${process.pid}-${++roomCount}`;

before(async () => { server = await start(); });
after(async () => {
  for (const s of sockets) s.disconnect();
  const code = await server.stop('SIGTERM');
  assert.equal(code, 0, 'signal exits 0 on SIGTERM');
});

// A client that records every event it receives, in order.
function client(port = server.port, opts = {}) {
  const socket = io(`http://127.0.0.1:${port}`, {
    transports: ['websocket'], forceNew: true, reconnectionDelay: 100,
    reconnectionDelayMax: 500, timeout: 5000, ...opts,
  });
  socket.events = [];
  socket.waiters = [];
  socket.onAny((name, ...args) => {
    socket.events.push({ name, args });
    socket.waiters = socket.waiters.filter((w) => !w());
  });
  sockets.push(socket);
  return socket;
}

// Resolves with the first recorded event called `name` after index `from`
// (events already received count), or rejects after `ms`.
function next(socket, name, from = 0, ms = 3000) {
  return new Promise((resolve, reject) => {
    const find = () => {
      const i = socket.events.findIndex((e, k) => k >= from && e.name === name);
      if (i < 0) return false;
      clearTimeout(timer);
      resolve({ ...socket.events[i], index: i });
      return true;
    };
    const timer = setTimeout(() => {
      socket.waiters = socket.waiters.filter((w) => w !== find);
      reject(new Error(`no '${name}' event within ${ms} ms; got: ` +
                       JSON.stringify(socket.events.map((e) => e.name))));
    }, ms);
    if (!find()) socket.waiters.push(find);
  });
}

function once(emitter, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' within ${ms} ms`)), ms);
    emitter.once(event, (...args) => { clearTimeout(timer); resolve(args); });
  });
}

async function connected(socket) {
  if (!socket.connected) await once(socket, 'connect');
  return socket;
}

// A round trip through the server: the spec answers an event with an ack id
// (42<id>[...]) with 43<id>[]. Anything the server queued for this client
// before it read the 'bye' arrives before the ack.
const barrier = (socket) => socket.timeout(3000).emitWithAck('bye');

const names = (socket) => socket.events.map((e) => e.name);

// Two clients in a fresh room: a created it, b joined it.
async function pair() {
  const room = newRoom();
  const a = await connected(client()), b = await connected(client());
  a.emit('create or join', room);
  await next(a, 'created');
  b.emit('create or join', room);
  await next(b, 'ready');
  await next(a, 'ready');
  return { room, a, b };
}

// A real-size session description, as Chromium writes them (~4 KB, CRLF lines).
function sdp(type) {
  const lines = ['v=0', `o=- 4611731400430051336 2 IN IP4 127.0.0.1`, 's=-', 't=0 0',
    'a=group:BUNDLE 0', 'a=extmap-allow-mixed', 'a=msid-semantic: WMS stream',
    'm=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 104 105 106 107 108 109 127 125 39 40 45 46 98 99 100 101 112 113 116 117 118',
    'c=IN IP4 0.0.0.0', 'a=rtcp:9 IN IP4 0.0.0.0', 'a=ice-ufrag:Xk3d', 'a=ice-pwd:aB1cD2eF3gH4iJ5kL6mN7oP8',
    'a=ice-options:trickle',
    'a=fingerprint:sha-256 1F:2E:3D:4C:5B:6A:79:88:97:A6:B5:C4:D3:E2:F1:00:1F:2E:3D:4C:5B:6A:79:88:97:A6:B5:C4:D3:E2:F1:00',
    `a=setup:${type === 'offer' ? 'actpass' : 'active'}`, 'a=mid:0', `a=${type === 'offer' ? 'sendrecv' : 'sendrecv'}`,
    'a=msid:stream track-1', 'a=rtcp-mux', 'a=rtcp-rsize'];
  for (let pt = 96; pt < 112; pt++) {
    lines.push(`a=rtpmap:${pt} ${['VP8', 'VP9', 'H264', 'AV1', 'rtx'][pt % 5]}/90000`,
      `a=rtcp-fb:${pt} goog-remb`, `a=rtcp-fb:${pt} transport-cc`, `a=rtcp-fb:${pt} ccm fir`,
      `a=rtcp-fb:${pt} nack`, `a=rtcp-fb:${pt} nack pli`,
      `a=fmtp:${pt} level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f`);
  }
  lines.push('a=ssrc-group:FID 1111111111 2222222222', 'a=ssrc:1111111111 cname:Ab/Cd+Ef\\"Gh✓');
  return lines.join('\r\n') + '\r\n';
}

const candidate = (n) => ({
  type: 'candidate', label: 0, id: '0',
  candidate: `candidate:${n} 1 udp 2122260223 192.0.2.${n} 5${n}000 typ host generation 0 ufrag Xk3d network-id 1`,
});

test('create or join: created, then join + joined + ready, then full (three clients)', async () => {
  const room = newRoom();
  const a = await connected(client()), b = await connected(client()), c = await connected(client());

  a.emit('create or join', room);
  const created = await next(a, 'created');
  assert.deepEqual(created.args, [room, a.id], "created(room, id) with the creator's socket id");

  b.emit('create or join', room);
  const joined = await next(b, 'joined');
  assert.deepEqual(joined.args, [room, b.id], "joined(room, id) with the joiner's socket id");
  const bReady = await next(b, 'ready');
  assert.ok(bReady.index > joined.index, 'the joiner gets ready after joined');
  assert.deepEqual(bReady.args, []);
  const join = await next(a, 'join');
  assert.deepEqual(join.args, [room], 'the one inside gets join(room)');
  const aReady = await next(a, 'ready');
  assert.ok(aReady.index > join.index, 'the one inside gets ready after join');

  c.emit('create or join', room);
  const full = await next(c, 'full');
  assert.deepEqual(full.args, [room]);

  for (const s of [a, b, c]) await barrier(s);
  assert.deepEqual(names(a).filter((n) => n !== 'log'), ['created', 'join', 'ready']);
  assert.deepEqual(names(b).filter((n) => n !== 'log'), ['joined', 'ready']);
  assert.deepEqual(names(c).filter((n) => n !== 'log'), ['full']);

  // Each step is reported to the sender as log(['Message from server:', ...]).
  for (const s of [a, b, c]) {
    const logs = s.events.filter((e) => e.name === 'log');
    assert.ok(logs.length > 0, 'the sender of create or join gets log events');
    for (const l of logs) {
      assert.equal(l.args.length, 1, 'log carries one array');
      assert.ok(Array.isArray(l.args[0]));
      assert.equal(l.args[0][0], 'Message from server:');
    }
    assert.ok(logs.some((l) => l.args[0].join(' ').includes(room)), 'a log names the room');
  }
});

test("the next chapter's messages reach the room-mate only, byte for byte", async () => {
  const { a, b } = await pair();
  const other = await pair();                       // another room, same server
  const loner = await connected(client());          // in no room
  const bystanders = [other.a, other.b, loner];
  for (const s of bystanders) await barrier(s);
  const seen = bystanders.map((s) => s.events.length);

  const offer = { type: 'offer', sdp: sdp('offer') };
  const answer = { type: 'answer', sdp: sdp('answer') };
  assert.ok(offer.sdp.length > 3000 && offer.sdp.length < 6000, `offer is ${offer.sdp.length} bytes`);

  const exchange = [
    [a, b, 'got user media'], [b, a, 'got user media'],
    [a, b, offer], [b, a, answer],
    [a, b, candidate(1)], [a, b, candidate(2)], [b, a, candidate(3)],
    [b, a, 'bye'],
  ];
  for (const [from, to, message] of exchange) {
    const mark = to.events.length;
    from.emit('message', message);
    const got = await next(to, 'message', mark);
    assert.deepEqual(got.args, [message]);
  }

  for (const s of [a, b, ...bystanders]) await barrier(s);
  for (const s of [a, b]) {
    const messages = s.events.filter((e) => e.name === 'message');
    assert.equal(messages.length, exchange.filter(([, to]) => to === s).length,
                 'the sender never gets its own message back');
  }
  bystanders.forEach((s, i) => {
    assert.deepEqual(s.events.slice(seen[i]).filter((e) => e.name === 'message'), [],
                     'no message reaches another room or a client in no room');
  });

  // A message from a client in no room goes nowhere; the loner is told why.
  const mark = loner.events.length;
  loner.emit('message', 'hello?');
  await barrier(loner);
  for (const s of [a, b, other.a, other.b]) await barrier(s);
  for (const s of [a, b, other.a, other.b]) {
    assert.ok(!s.events.some((e) => e.name === 'message' && e.args[0] === 'hello?'));
  }
  assert.ok(loner.events.slice(mark).some((e) => e.name === 'log'), 'a log explains the dropped message');
});

test("'bye' is answered and the client stays connected", async () => {
  const { a, b } = await pair();
  await barrier(a);                                  // 43<id>[] came back
  assert.ok(a.connected);
  a.emit('bye');
  const mark = b.events.length;
  a.emit('message', 'still here');
  assert.deepEqual((await next(b, 'message', mark)).args, ['still here']);
});

test('ipaddr: one event per non-loopback IPv4 address of the machine', async () => {
  const expected = Object.values(os.networkInterfaces()).flat()
    .filter((i) => (i.family === 'IPv4' || i.family === 4) && !i.internal && !i.address.startsWith('127.'))
    .map((i) => i.address).sort();
  const s = await connected(client());
  s.emit('ipaddr');
  await barrier(s);
  const got = s.events.filter((e) => e.name === 'ipaddr');
  for (const e of got) assert.equal(e.args.length, 1);
  assert.deepEqual(got.map((e) => e.args[0]).sort(), expected);
});

test("a client that leaves frees its slot; an emptied room can be created again", async () => {
  const { room, a, b } = await pair();
  const c = await connected(client());
  c.emit('create or join', room);
  await next(c, 'full');

  b.disconnect();                                    // 41, then the socket closes
  let mark = a.events.length;
  c.emit('create or join', room);
  const joined = await next(c, 'joined', 0);
  assert.deepEqual(joined.args, [room, c.id]);
  await next(a, 'join', mark);
  await next(a, 'ready', mark);
  await next(c, 'ready');

  // Now the room-mates are a and c.
  mark = c.events.length;
  a.emit('message', { type: 'offer', sdp: sdp('offer') });
  await next(c, 'message', mark);

  // A transport that just closes (no 41) leaves the room too.
  a.io.engine.close();
  c.disconnect();
  await new Promise((r) => setTimeout(r, 200));
  const d = await connected(client());
  d.emit('create or join', room);
  const created = await next(d, 'created');
  assert.deepEqual(created.args, [room, d.id], 'the emptied room is created anew');
});

// SIGINT is a learner's Ctrl-C (clean exit 0); SIGKILL a crash (no goodbye).
for (const sig of ['SIGINT', 'SIGKILL']) test(`after ${sig} and a restart on the same port the client reconnects by itself`, async () => {
  const own = await start();
  const port = own.port;
  let restarted;
  try {
    const room = newRoom();
    const s = await connected(client(port));
    s.emit('create or join', room);
    await next(s, 'created');

    const gone = once(s, 'disconnect');
    const code = await own.stop(sig);
    if (sig === 'SIGINT') assert.equal(code, 0, 'signal exits 0 on SIGINT');
    await gone;
    assert.equal(s.connected, false);

    const back = once(s, 'connect', 10000);
    restarted = await start(port);
    assert.equal(restarted.port, port);
    await back;                                        // no help from the test

    const mark = s.events.length;
    s.emit('create or join', room);
    assert.deepEqual((await next(s, 'created', mark)).args, [room, s.id],
                     'the restarted server has an empty room');
    const t = await connected(client(port));
    t.emit('create or join', room);
    await next(t, 'joined');
    await next(s, 'join', mark);
  } finally {
    for (const x of sockets) x.disconnect();
    await own.stop();
    if (restarted) assert.equal(await restarted.stop(), 0);
  }
});

test('room names travel with JSON escapes intact: quotes, accents, emoji', async () => {
  const room = `r\u00fcm "\u2713" \\ \ud83d\ude00 ${process.pid}`;
  const a = await connected(client()), b = await connected(client());
  a.emit('create or join', room);
  assert.deepEqual((await next(a, 'created')).args, [room, a.id]);
  b.emit('create or join', room);
  assert.deepEqual((await next(b, 'joined')).args, [room, b.id]);
  assert.deepEqual((await next(a, 'join')).args, [room]);
});

test('the official client answers the pings: still connected after many intervals', async () => {
  const fast = await start(0, ['-i', '200', '-t', '300']);
  try {
    const s = await connected(client(fast.port));
    let drops = 0;
    s.on('disconnect', () => { drops++; });
    await new Promise((r) => setTimeout(r, 2000));   // ten ping intervals
    assert.equal(drops, 0, 'no disconnect while the client answers pings');
    assert.ok(s.connected);
    const room = newRoom();
    s.emit('create or join', room);
    await next(s, 'created');
    s.disconnect();
  } finally {
    assert.equal(await fast.stop(), 0);
  }
});

test('the official client may send an auth payload with CONNECT', async () => {
  const s = await connected(client(server.port, { auth: { token: 'abc' } }));
  assert.equal(typeof s.id, 'string');
  assert.equal(s.id.length, 20, 'socket ids are 20 characters');
  const room = newRoom();
  s.emit('create or join', room);
  await next(s, 'created');
});

test('a namespace other than / is refused with connect_error', async () => {
  const s = io(`http://127.0.0.1:${server.port}/other`, { transports: ['websocket'], forceNew: true, reconnection: false });
  sockets.push(s);
  const [err] = await once(s, 'connect_error');
  assert.equal(err.message, 'Invalid namespace');
  assert.equal(s.connected, false);
});
