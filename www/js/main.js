// js/main.js -- the page script of the chapter's step-04, written for signal.c.
// Open this page in two tabs with the same room name, then in a third, and
// watch each console: "created" in the first, "joined" and "ready" in the
// second, "full" in the third.  Each handler names the part of signal.c
// that sends the event.
'use strict';

var isInitiator;  // true in the tab that created the room

window.room = prompt('Enter room name:');

// io comes from /socket.io/socket.io.js, a static file signal.c serves.
var socket = io.connect();

if (room !== '') {
  console.log('Message from client: Asking to join room ' + room);
  socket.emit('create or join', room);       // -> room_create_or_join()
}

// room_create_or_join(): first in the room.
socket.on('created', function (room, clientId) {
  isInitiator = true;
});

// room_join_second(): second in the room.
socket.on('joined', function (room, clientId) {
  isInitiator = false;
});

// room_create_or_join(): two are in already.
socket.on('full', function (room) {
  console.log('Message from client: Room ' + room + ' is full :^(');
});

// room_send_ipaddr(), if the page ever emits 'ipaddr'.
socket.on('ipaddr', function (ipaddr) {
  console.log('Message from client: Server IP address is ' + ipaddr);
});

// sio_log(): each step, as ['Message from server:', text].
socket.on('log', function (array) {
  console.log.apply(console, array);
});
