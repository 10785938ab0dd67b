// The baseline for `make bench`: the chapter's signaling logic on socket.io
// 4.8, written for this benchmark, as close to what signal.c does as the
// library allows, so the two can be compared message for message.
//
//   node tests/bench/socketio-server.js [PORT] [--log-every-message]
//
// PORT 0 (the default) takes any free port.  When it listens it prints one
// line on stdout, which the load generator reads for the port:
//   socketio-server: listening on http://127.0.0.1:PORT/
//
// Like signal.c (and unlike the chapter's first version) it counts the
// room's own members and relays 'message' only inside the sender's room.
// The chapter's log() (a 'log' event to the sender) is sent for every step
// of 'create or join', as signal.c does.  The chapter also logs every
// relayed message back to its sender ("Client said: ..."); that costs a
// second emit per message, so it is off unless --log-every-message (or the
// environment variable SIO_LOG_EVERY_MESSAGE=1) asks for it.
//
// Only the WebSocket transport, as signal.c.  GET / is answered with
// www/index.html (scenario g times the first byte of it); any other plain
// HTTP request gets 404.
'use strict';

const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const { Server } = require('socket.io');

const args = process.argv.slice(2);
const port = Number(args.find((a) => /^\d+$/.test(a)) ?? 0);
const logEveryMessage = args.includes('--log-every-message') ||
  process.env.SIO_LOG_EVERY_MESSAGE === '1';
const indexFile = path.join(__dirname, '..', '..', 'www', 'index.html');
const pingInterval = Number(process.env.SIO_PING_INTERVAL_MS || 25000);
const pingTimeout = Number(process.env.SIO_PING_TIMEOUT_MS || 20000);

const httpServer = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/') {
    fs.readFile(indexFile, (err, body) => {
      if (err) {
        res.writeHead(500).end();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(body);
    });
    return;
  }
  res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
});

const io = new Server(httpServer, {
  transports: ['websocket'],
  serveClient: false,
  pingInterval,
  pingTimeout,
});

// Members of a room right now (0 if nobody is in it).
function roomSize(room) {
  const members = io.of('/').adapter.rooms.get(room);
  return members ? members.size : 0;
}

io.on('connection', (socket) => {
  // The chapter's log(): one 'log' event to this socket, whose array the
  // page passes to console.log.
  const log = (...parts) => socket.emit('log', ['Message from server:', ...parts]);
  let myRoom = null;

  socket.on('create or join', (room) => {
    if (typeof room !== 'string' || room.length === 0) {
      log('create or join needs a room name (a string)');
      return;
    }
    if (myRoom !== null) {
      log('Client ID ' + socket.id + ' is already in room ' + myRoom);
      return;
    }
    log('Received request to create or join room ' + room);
    const members = roomSize(room);
    log('Room ' + room + ' now has ' + members + ' client(s)');
    if (members === 0) {
      socket.join(room);
      myRoom = room;
      log('Client ID ' + socket.id + ' created room ' + room);
      socket.emit('created', room, socket.id);
    } else if (members === 1) {
      log('Client ID ' + socket.id + ' joined room ' + room);
      io.to(room).emit('join', room);      // the one already inside
      socket.join(room);
      myRoom = room;
      socket.emit('joined', room, socket.id);
      io.to(room).emit('ready');           // both
    } else {
      socket.emit('full', room);
    }
  });

  socket.on('message', (message) => {
    if (logEveryMessage) {
      log('Client said: ', message);
    }
    if (myRoom === null) {
      log("Message dropped: you are not in a room (send 'create or join' first)");
      return;
    }
    socket.to(myRoom).emit('message', message);
  });

  socket.on('bye', () => {
    console.error('received bye');
  });
});

httpServer.listen(port, '127.0.0.1', () => {
  const actual = httpServer.address().port;
  process.stdout.write(`socketio-server: listening on http://127.0.0.1:${actual}/\n`);
});

// SIGTERM / SIGINT: stop at once, as signal.c does.
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => process.exit(0));
}
