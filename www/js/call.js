// The next chapter's video call (step-05), written with today's APIs:
// getUserMedia, RTCPeerConnection, addTrack, ontrack and promises.
// Two pages in the same room call each other; the server only relays
// 'message' events between them.  Open call.html#foo in two tabs.
//
// The messages, all as 'message' events, as in the codelab:
//   'got user media'                      my camera is on
//   {type: 'offer' | 'answer', sdp}       the session descriptions
//   {type: 'candidate', label, id, candidate}   one ICE candidate
//   'bye'                                 I am gone (hang-up or closed tab)
// and one of ours: 'hang up', right before the 'bye' of the Hang up button,
// so the other side can tell "peer hung up" from "peer left".
'use strict';

var room = location.hash.slice(1) || prompt('Enter room name:');
var isInitiator = false;     // we were first in the room: we send the offer
var isChannelReady = false;  // another peer is in the room
var localStream = null;
var pc = null;               // the current RTCPeerConnection (window.pc)
var hungUp = false;          // we pressed Hang up
var peerHangingUp = false;   // the peer's 'hang up' came; its 'bye' follows

var localVideo = document.querySelector('#localVideo');
var remoteVideo = document.querySelector('#remoteVideo');
var stateLine = document.querySelector('#state');
var connectionLine = document.querySelector('#connection');
var roomLine = document.querySelector('#room');

// The call's state, on the page and in the console.
function setState(text) {
  console.log('Call: ' + text);
  stateLine.textContent = text;
}

function showConnection(text, state) {
  connectionLine.textContent = text;
  connectionLine.className = state;     // connected, connecting, disconnected
}

if (room) {
  roomLine.textContent = room;
  document.querySelector('#share').href = 'call.html#' + encodeURIComponent(room);
  document.querySelector('#share').textContent = 'call.html#' + room;
} else {
  roomLine.textContent = 'none: add #name to the address and reload';
}

// Our client ignores the option; the official one needs it (no long-polling).
var socket = io.connect({ transports: ['websocket'] });

function sendMessage(message) {
  console.log('Client sending message: ', message);
  socket.emit('message', message);
}

function askToJoin() {
  console.log('Message from client: Asking to join room ' + room);
  socket.emit('create or join', room);
}

// The camera first, then the room: so the peer's 'got user media' means
// it can answer at once.
navigator.mediaDevices.getUserMedia({ audio: false, video: true })
  .then(function(stream) {
    console.log('Adding local stream.');
    localStream = stream;
    localVideo.srcObject = stream;
    if (room) {
      setState('joining room ' + room + '…');
      askToJoin();
    } else {
      setState('no room name: add #name to the address and reload');
    }
  })
  .catch(function(e) {
    setState('no camera (' + e.name + '): the page needs one, and ' +
             'http://localhost or https');
  });

// -- The server connection: a new one after a restart must rejoin --------

var connections = 0;     // how many times the socket has connected
var rejoining = false;   // reconnected, and our room has not answered yet

// Once the room answers after a reconnect, the server line says so.
function rejoined() {
  if (!rejoining) return;
  rejoining = false;
  showConnection('reconnected, new socket id ' + socket.id +
                 '; rejoined room ' + room, 'connected');
}

socket.on('connect', function() {
  connections++;
  if (connections === 1) {
    showConnection('connected, socket id ' + socket.id, 'connected');
    return;
  }
  // A new connection, with a new id and in no room: ask for the room again.
  // A call still running is ended: the two pages meet again in the room and
  // call anew, the first one back waiting for the other.
  showConnection('reconnected, new socket id ' + socket.id, 'connected');
  if (hungUp || !localStream || !room) return;
  if (pc) stop();
  isChannelReady = false;
  rejoining = true;
  setState('reconnected to the server; rejoining room ' + room + '…');
  askToJoin();
});

socket.on('disconnect', function(reason) {
  if (hungUp) return;
  showConnection('disconnected (' + reason + '), reconnecting…', 'disconnected');
});

socket.io.on('reconnect_attempt', function(attempt) {
  showConnection('disconnected, reconnecting (try ' + attempt + ')…', 'disconnected');
});

// -- The room ---------------------------------------------------------------

socket.on('created', function(room) {
  console.log('Created room ' + room);
  isInitiator = true;
  rejoined();
  setState('waiting for a peer: open this page in another tab');
});

socket.on('full', function(room) {
  console.log('Message from client: Room ' + room + ' is full :^(');
  rejoined();
  setState('room ' + room + ' is full: two peers are in it already; ' +
           'try another room');
});

// Someone joins us: any call we still have is with a peer who left
// without a 'bye', so drop it; we make the offer for the newcomer.
socket.on('join', function(room) {
  console.log('Another peer made a request to join room ' + room);
  if (pc) stop();
  isInitiator = true;
  isChannelReady = true;
  setState('a peer joined: connecting…');
});

socket.on('joined', function(room) {
  console.log('joined: ' + room);
  isInitiator = false;       // even if we were, for a peer who has left
  isChannelReady = true;
  rejoined();
  setState('joined a waiting peer: connecting…');
  sendMessage('got user media');
  maybeStart();
});

socket.on('log', function(array) {
  console.log.apply(console, array);
});

socket.on('message', function(message) {
  console.log('Client received message:', message);
  if (message === 'got user media') {
    maybeStart();
  } else if (message.type === 'offer') {
    maybeStart();                      // the answerer has its camera already
    pc.setRemoteDescription(message)
      .then(function() { return pc.createAnswer(); })
      .then(setLocalAndSendMessage)
      .catch(logError);
  } else if (message.type === 'answer' && pc) {
    pc.setRemoteDescription(message).catch(logError);
  } else if (message.type === 'candidate' && pc) {
    // sdpMid AND sdpMLineIndex: a candidate with neither fails (the
    // original's bug #11).
    pc.addIceCandidate(new RTCIceCandidate({
      sdpMLineIndex: message.label,
      sdpMid: message.id,
      candidate: message.candidate
    })).catch(logError);
  } else if (message === 'hang up') {
    peerHangingUp = true;
  } else if (message === 'bye' && (pc || isChannelReady)) {
    peerGone(peerHangingUp ? 'peer hung up' : 'peer left');
  }
});

// -- The call -----------------------------------------------------------------

// Start the call once we have our camera and a peer in the room.
function maybeStart() {
  if (pc || !localStream || !isChannelReady) return;
  console.log('>>>>>> creating peer connection');
  // No iceServers: host candidates are enough on one machine or one LAN;
  // across the internet a call needs STUN/TURN servers here.
  pc = new RTCPeerConnection();
  pc.onicecandidate = function(event) {
    if (event.candidate) {
      sendMessage({
        type: 'candidate',
        label: event.candidate.sdpMLineIndex,
        id: event.candidate.sdpMid,
        candidate: event.candidate.candidate
      });
    }
  };
  pc.ontrack = function(event) {
    console.log('Remote stream added.');
    remoteVideo.srcObject = event.streams[0];
  };
  pc.onconnectionstatechange = function(event) {
    var state = event.target.connectionState;
    console.log('Connection state: ' + state);
    if (event.target !== pc) return;   // a call we ended already
    if (state === 'connected') {
      setState('connected');
    } else if (state === 'disconnected') {
      setState('connection interrupted; waiting for it to come back…');
    } else if (state === 'failed') {
      peerGone('peer left (the connection was lost)');
    }
  };
  localStream.getTracks().forEach(function(track) {
    pc.addTrack(track, localStream);
  });
  if (isInitiator) {
    console.log('Sending offer to peer');
    pc.createOffer().then(setLocalAndSendMessage).catch(logError);
  }
}

function setLocalAndSendMessage(description) {
  return pc.setLocalDescription(description).then(function() {
    sendMessage({ type: description.type, sdp: description.sdp });
  });
}

function logError(error) {
  console.log('WebRTC error: ' + error.toString());
}

// Our hang-up: tell the peer, end the call and leave the room.
function hangup() {
  if (hungUp) return;
  console.log('Hanging up.');
  hungUp = true;
  if (pc) stop();
  if (localStream) {                               // the camera goes off
    localStream.getTracks().forEach(function(track) { track.stop(); });
    localVideo.srcObject = null;
  }
  sendMessage('hang up');
  sendMessage('bye');
  socket.disconnect();
  showConnection('disconnected (we hung up)', 'disconnected');
  setState('hung up: you left room ' + room + '; reload the page to call again');
  document.querySelector('#hangupButton').disabled = true;
}

// The peer hung up, closed its tab or vanished: we wait, as the
// initiator, for the next one.
function peerGone(what) {
  console.log('Session terminated: ' + what);
  peerHangingUp = false;
  if (pc) stop();
  isInitiator = true;
  isChannelReady = false;
  setState(what + '; waiting for a peer');
}

function stop() {
  pc.close();
  pc = null;
  remoteVideo.srcObject = null;
}

document.querySelector('#hangupButton').onclick = hangup;
window.addEventListener('pagehide', function() {
  if (!hungUp) sendMessage('bye');
});
