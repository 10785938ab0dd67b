// js/main.js -- the page script of the chapter's step-04, written for signal.c.
// Open this page in two tabs with the same room name, then in a third:
// "created" in the first, "joined" and "ready" in the second (and "a peer
// joined" and "ready" in the first), "full" in the third.  Every line goes
// to the browser console, as in the chapter, and to the page, in the same
// order.  Each handler names the part of signal.c that sends its event.
'use strict';

var isInitiator;  // true in the tab that created the room

var logList = document.getElementById('log');
var connectionLine = document.getElementById('connection');
var roomLine = document.getElementById('room');

// A line on the page.  `from` is 'client' or 'server', which only
// colours it; `strong` marks a room event.
function show(text, from, strong) {
  var item = document.createElement('li');
  item.className = from + (strong ? ' event' : '');
  item.textContent = text;
  logList.appendChild(item);
}

// One line from this page, to the console and to the page.
function say(text, strong) {
  console.log(text);
  show(text, 'client', strong);
}

function showConnection(text, state) {
  connectionLine.textContent = text;
  connectionLine.className = state;     // connected, connecting, disconnected
}

function showRoom(text) {
  roomLine.textContent = text;
}

window.room = prompt('Enter room name:');

// io comes from /socket.io/socket.io.js, a static file signal.c serves.
// Our client speaks only WebSocket and ignores the option; the official
// client needs it, since signal.c has no long-polling.
var socket = io.connect({ transports: ['websocket'] });

// The chapter asks for its room at once; the client sends it as soon as
// the connection is up.
function askToJoin(again) {
  say('Message from client: Asking to join room ' + room + (again ? ' again' : ''));
  showRoom(room + ' — asking to join…');
  socket.emit('create or join', room);       // -> room_create_or_join()
}

if (room) {
  askToJoin(false);
} else {
  say('Message from client: No room name given, so no room joined. ' +
      'Reload the page and enter one.');
  showRoom('none (the room name was empty; reload to enter one)');
}

// -- The connection: first connect, losses, reconnects ---------------------

var connections = 0;     // how many times the socket has connected
var rejoining = false;   // reconnected, and our room has not answered yet

// Once the room answers after a reconnect, the server line says so.
function rejoined() {
  if (!rejoining) return;
  rejoining = false;
  showConnection('reconnected, new socket id ' + socket.id +
                 '; rejoined room ' + room, 'connected');
}

socket.on('connect', function () {
  connections++;
  if (connections === 1) {
    showConnection('connected, socket id ' + socket.id, 'connected');
    return;
  }
  // A new connection: the server (restarted, or one that dropped us) gives
  // it a new id and it is in no room.  So ask for our room again.
  showConnection('reconnected, new socket id ' + socket.id, 'connected');
  say('Message from client: Reconnected with a new socket id ' + socket.id +
      ', in no room');
  if (room) {
    rejoining = true;
    askToJoin(true);
  }
});

socket.on('disconnect', function (reason) {
  showConnection('disconnected (' + reason + '), reconnecting…', 'disconnected');
  say('Message from client: Lost the server (' + reason + '); trying to reconnect');
  if (room) showRoom(room + ' — left with the connection');
});

socket.io.on('reconnect_attempt', function (attempt) {
  showConnection('disconnected, reconnecting (try ' + attempt + ')…', 'disconnected');
});

// -- The chapter's room events ----------------------------------------------

// room_create_or_join(): first in the room.
socket.on('created', function (room, clientId) {
  isInitiator = true;
  rejoined();
  say('Message from client: Created room ' + room +
      ': we are the first in it; waiting for a peer', true);
  showRoom(room + ' — created, waiting for a peer');
});

// room_join_second(), to the one already inside: someone joined.
socket.on('join', function (room) {
  say('Message from client: A peer joined room ' + room, true);
  showRoom(room + ' — a peer joined');
});

// room_join_second(): second in the room.
socket.on('joined', function (room, clientId) {
  isInitiator = false;
  rejoined();
  say('Message from client: Joined room ' + room +
      ': a peer was waiting in it', true);
  showRoom(room + ' — joined');
});

// room_join_second(), to both: the two peers may now talk.
socket.on('ready', function () {
  say('Message from client: Room ' + room + ' is ready: two peers are in it',
      true);
  showRoom(room + ' — ready, two peers in it');
});

// room_create_or_join(): two are in already.
socket.on('full', function (room) {
  rejoined();
  say('Message from client: Room ' + room + ' is full :^(', true);
  showRoom(room + ' — full, two peers are in it already');
});

// room_send_ipaddr(), if the page ever emits 'ipaddr'.
socket.on('ipaddr', function (ipaddr) {
  say('Message from client: Server IP address is ' + ipaddr);
});

// sio_log(): each step, as ['Message from server:', text].  The console
// gets the array as the chapter logs it; the page, its parts joined.
socket.on('log', function (array) {
  console.log.apply(console, array);
  show(array.map(function (part) {
    return typeof part === 'string' ? part : JSON.stringify(part);
  }).join(' '), 'server', false);
});
