// The chapter's client (step-04): join a room, then watch the console.
// Open this page in two tabs with the same room name, then in a third:
// the first logs "created", the second "joined" and "ready", the third "full".
'use strict';

var isInitiator;

window.room = prompt('Enter room name:');

// io comes from /socket.io/socket.io.js, which the server serves.
var socket = io.connect();

if (room !== '') {
  console.log('Message from client: Asking to join room ' + room);
  socket.emit('create or join', room);
}

socket.on('created', function(room, clientId) {
  isInitiator = true;
});

socket.on('full', function(room) {
  console.log('Message from client: Room ' + room + ' is full :^(');
});

socket.on('ipaddr', function(ipaddr) {
  console.log('Message from client: Server IP address is ' + ipaddr);
});

socket.on('joined', function(room, clientId) {
  isInitiator = false;
});

// The server reports each step as a 'log' event: ['Message from server:', ...].
socket.on('log', function(array) {
  console.log.apply(console, array);
});
