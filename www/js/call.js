// The next chapter's video call (step-05), written with today's APIs:
// getUserMedia, RTCPeerConnection, addTrack, ontrack and promises.
// Two pages in the same room call each other; the server only relays
// 'message' events between them.  Open call.html#foo in two tabs.
'use strict';

var room = location.hash.slice(1) || prompt('Enter room name:');
var isInitiator = false;     // we were first in the room: we send the offer
var isChannelReady = false;  // another peer is in the room
var localStream = null;
var pc = null;               // the current RTCPeerConnection (window.pc)

var localVideo = document.querySelector('#localVideo');
var remoteVideo = document.querySelector('#remoteVideo');

var socket = io.connect();

function sendMessage(message) {
  console.log('Client sending message: ', message);
  socket.emit('message', message);
}

// The camera first, then the room: so the peer's 'got user media' means
// it can answer at once.
navigator.mediaDevices.getUserMedia({ audio: false, video: true })
  .then(function(stream) {
    console.log('Adding local stream.');
    localStream = stream;
    localVideo.srcObject = stream;
    if (room) {
      console.log('Message from client: Asking to join room ' + room);
      socket.emit('create or join', room);
    }
  })
  .catch(function(e) {
    alert('getUserMedia() error: ' + e.name);
  });

socket.on('created', function(room) {
  console.log('Created room ' + room);
  isInitiator = true;
});

socket.on('full', function(room) {
  console.log('Message from client: Room ' + room + ' is full :^(');
});

// Someone joins us: any call we still have is with a peer who left
// without a 'bye', so drop it; we make the offer for the newcomer.
socket.on('join', function(room) {
  console.log('Another peer made a request to join room ' + room);
  if (pc) stop();
  isInitiator = true;
  isChannelReady = true;
});

socket.on('joined', function(room) {
  console.log('joined: ' + room);
  isChannelReady = true;
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
  } else if (message === 'bye' && pc) {
    handleRemoteHangup();
  }
});

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
  pc.onconnectionstatechange = function() {
    console.log('Connection state: ' + this.connectionState);
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
  console.log('Hanging up.');
  if (pc) stop();
  sendMessage('bye');
  socket.disconnect();
}

// The peer hung up: we wait, as the initiator, for the next one.
function handleRemoteHangup() {
  console.log('Session terminated.');
  stop();
  isInitiator = true;
  isChannelReady = false;
}

function stop() {
  pc.close();
  pc = null;
  remoteVideo.srcObject = null;
}

document.querySelector('#hangupButton').onclick = hangup;
window.addEventListener('pagehide', function() {
  sendMessage('bye');
});
