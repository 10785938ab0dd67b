// The codelab's step after the call (step-06): two tabs in one room share
// snapshots of their cameras over an RTCDataChannel.  The server relays the
// offer, the answer and the candidates, as for the call; the photo itself
// goes from page to page and never touches signal.c.
//
// A photo on the channel "photos" is two kinds of message:
//   '{"width":640,"height":480,"bytes":1228800}'   a header, as text
//   ArrayBuffer, ArrayBuffer, ...                  the RGBA pixels, in
//                                                  chunks of CHUNK bytes
// The receiver knows the photo is whole when it has `bytes` bytes, and
// shows it.  Each side prints the photo's SHA-256, so the two tabs can be
// compared by eye.
'use strict';

var CHUNK = 64000;           // the codelab's chunk size, under 64 KiB
var BUFFER_HIGH = 1 << 20;   // stop sending while this much is queued...
var BUFFER_LOW = 1 << 18;    // ...until it drains to this

// The room comes after the #; without one, a random one, put in the
// address so that it can be copied to the second tab.
var room = location.hash.slice(1);
if (!room) {
  room = 'photos-' + Math.random().toString(36).slice(2, 8);
  history.replaceState(null, '', '#' + room);
}

var isInitiator = false;     // first in the room: we make the channel and offer
var pc = null;               // the RTCPeerConnection (window.pc)
var channel = null;          // its data channel "photos" (window.channel)
var snapped = null;          // the last snapshot: {width, height, data}
var sentCount = 0;           // photos sent, and received
var receivedCount = 0;
var incoming = null;         // the photo being received: header + bytes so far

var camera = document.querySelector('#camera');
var snapCanvas = document.querySelector('#snapshot');
var receivedCanvas = document.querySelector('#received');
var snapButton = document.querySelector('#snapButton');
var sendButton = document.querySelector('#sendButton');
var stateLine = document.querySelector('#state');
var connectionLine = document.querySelector('#connection');
var logList = document.querySelector('#log');

document.querySelector('#room').textContent = room;
document.querySelector('#share').href = 'photo.html#' + encodeURIComponent(room);
document.querySelector('#share').textContent = 'photo.html#' + room;

function setState(text) {
  console.log('Photos: ' + text);
  stateLine.textContent = text;
}

function say(text) {
  console.log(text);
  var item = document.createElement('li');
  item.className = 'client event';
  item.textContent = text;
  logList.appendChild(item);
}

function showConnection(text, state) {
  connectionLine.textContent = text;
  connectionLine.className = state;     // connected, connecting, disconnected
}

// Our client ignores the option; the official one needs it (no long-polling).
var socket = io.connect({ transports: ['websocket'] });

function sendMessage(message) {
  socket.emit('message', message);
}

function askToJoin() {
  console.log('Message from client: Asking to join room ' + room);
  socket.emit('create or join', room);
}

// -- The camera: on as the page opens; Snap is possible from then on -------

navigator.mediaDevices.getUserMedia({ audio: false, video: true })
  .then(function (stream) {
    camera.srcObject = stream;
    snapButton.disabled = false;
  })
  .catch(function (e) {
    say('No camera (' + e.name + '): photos can still be received. ' +
        'A camera needs http://localhost or https.');
  });

askToJoin();

// -- The server connection: a new one after a restart must rejoin --------

var connections = 0;     // how many times the socket has connected
var rejoining = false;   // reconnected, and our room has not answered yet

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
  // A new id, in no room: ask again.  A channel still open is closed; the
  // two pages meet again in the room and connect anew.
  showConnection('reconnected, new socket id ' + socket.id, 'connected');
  if (pc) stop();
  rejoining = true;
  setState('reconnected to the server; rejoining room ' + room + '…');
  askToJoin();
});

socket.on('disconnect', function (reason) {
  showConnection('disconnected (' + reason + '), reconnecting…', 'disconnected');
});

socket.io.on('reconnect_attempt', function (attempt) {
  showConnection('disconnected, reconnecting (try ' + attempt + ')…', 'disconnected');
});

// -- The room -----------------------------------------------------------------

socket.on('created', function () {
  isInitiator = true;
  rejoined();
  setState('waiting for a peer: open this page (with the same #' + room +
           ') in another tab');
});

socket.on('join', function () {
  if (pc) stop();            // a peer who left without a word
  isInitiator = true;
  setState('a peer joined: connecting…');
});

socket.on('joined', function () {
  isInitiator = false;
  rejoined();
  setState('joined a waiting peer: connecting…');
});

// Both are in: each makes its peer connection; the first one in also
// makes the data channel and the offer.
socket.on('ready', function () {
  start();
});

socket.on('full', function (room) {
  rejoined();
  setState('room ' + room + ' is full: two peers are in it already; ' +
           'open photo.html for a new room');
});

socket.on('log', function (array) {
  console.log.apply(console, array);
});

socket.on('message', function (message) {
  if (message.type === 'offer') {
    if (!pc) start();
    pc.setRemoteDescription(message)
      .then(function () { return pc.createAnswer(); })
      .then(setLocalAndSendMessage)
      .catch(logError);
  } else if (message.type === 'answer' && pc) {
    pc.setRemoteDescription(message).catch(logError);
  } else if (message.type === 'candidate' && pc) {
    pc.addIceCandidate(new RTCIceCandidate({
      sdpMLineIndex: message.label,
      sdpMid: message.id,
      candidate: message.candidate
    })).catch(logError);
  } else if (message === 'bye' && pc) {
    peerGone('peer left');
  }
});

// -- The peer connection and its data channel ---------------------------------

function start() {
  if (pc) return;
  pc = new RTCPeerConnection();   // no iceServers: one machine or one LAN
  pc.onicecandidate = function (event) {
    if (event.candidate) {
      sendMessage({
        type: 'candidate',
        label: event.candidate.sdpMLineIndex,
        id: event.candidate.sdpMid,
        candidate: event.candidate.candidate
      });
    }
  };
  pc.onconnectionstatechange = function (event) {
    if (event.target === pc && pc.connectionState === 'failed') {
      peerGone('peer left (the connection was lost)');
    }
  };
  if (isInitiator) {
    useChannel(pc.createDataChannel('photos'));
    pc.createOffer().then(setLocalAndSendMessage).catch(logError);
  } else {
    pc.ondatachannel = function (event) { useChannel(event.channel); };
  }
}

function setLocalAndSendMessage(description) {
  return pc.setLocalDescription(description).then(function () {
    sendMessage({ type: description.type, sdp: description.sdp });
  });
}

function useChannel(dc) {
  channel = dc;
  dc.binaryType = 'arraybuffer';
  dc.bufferedAmountLowThreshold = BUFFER_LOW;
  dc.onopen = function () {
    if (dc !== channel) return;
    sendButton.disabled = !snapped;
    setState('connected: snap a photo and send it');
  };
  dc.onclose = function () {
    if (dc === channel) peerGone('peer left');
  };
  dc.onmessage = function (event) { receive(event.data); };
}

function logError(error) {
  console.log('WebRTC error: ' + error.toString());
}

function peerGone(what) {
  if (pc) stop();
  isInitiator = true;        // we wait for the next peer, and will offer
  setState(what + '; waiting for a peer');
}

function stop() {
  var old = channel;
  channel = null;
  pc.close();
  pc = null;
  if (old) old.close();
  incoming = null;
  sendButton.disabled = true;
}

// -- Snap, send, receive -------------------------------------------------------

function snap() {
  var width = camera.videoWidth, height = camera.videoHeight;
  if (!width || !height) return;    // no frame yet
  snapCanvas.width = width;
  snapCanvas.height = height;
  var context = snapCanvas.getContext('2d');
  context.drawImage(camera, 0, 0, width, height);
  snapped = { width: width, height: height,
              data: context.getImageData(0, 0, width, height).data };
  sendButton.disabled = !(channel && channel.readyState === 'open');
  describe(snapped.data).then(function (about) {
    say('Snapped ' + width + '×' + height + ', ' + about);
  });
}

// The header, then the bytes in chunks; while more than BUFFER_HIGH waits
// in the channel, wait for it to drain to BUFFER_LOW.
function send() {
  var dc = channel, photo = snapped;
  if (!dc || dc.readyState !== 'open' || !photo) return;
  var bytes = photo.data;
  var chunks = Math.ceil(bytes.length / CHUNK);
  sendButton.disabled = true;
  dc.send(JSON.stringify({ width: photo.width, height: photo.height,
                           bytes: bytes.length }));
  var offset = 0;
  function more() {
    if (dc !== channel || dc.readyState !== 'open') return;   // peer gone
    while (offset < bytes.length) {
      if (dc.bufferedAmount > BUFFER_HIGH) {
        dc.onbufferedamountlow = function () {
          dc.onbufferedamountlow = null;
          more();
        };
        return;
      }
      dc.send(bytes.subarray(offset, offset + CHUNK));
      offset += CHUNK;
    }
    sentCount++;
    sendButton.disabled = false;
    describe(bytes).then(function (about) {
      say('Sent photo ' + sentCount + ': ' + photo.width + '×' + photo.height +
          ', ' + about + ' in ' + chunks + ' chunks');
      setState('connected: photo ' + sentCount + ' sent');
    });
  }
  more();
}

function receive(data) {
  if (typeof data === 'string') {                  // a header: a new photo
    var header = JSON.parse(data);
    incoming = { width: header.width, height: header.height, chunks: 0,
                 have: 0, data: new Uint8ClampedArray(header.bytes) };
    setState('receiving a photo: 0 of ' + header.bytes + ' bytes');
    return;
  }
  if (!incoming) return;                           // no header: not ours
  var chunk = new Uint8Array(data);
  if (incoming.have + chunk.length > incoming.data.length) {
    say('A photo came with more bytes than its header said: dropped');
    incoming = null;
    return;
  }
  incoming.data.set(chunk, incoming.have);
  incoming.have += chunk.length;
  incoming.chunks++;
  if (incoming.have < incoming.data.length) {
    setState('receiving a photo: ' + incoming.have + ' of ' +
             incoming.data.length + ' bytes');
    return;
  }
  var photo = incoming;
  incoming = null;
  receivedCount++;
  var number = receivedCount;
  receivedCanvas.width = photo.width;
  receivedCanvas.height = photo.height;
  receivedCanvas.getContext('2d').putImageData(
      new ImageData(photo.data, photo.width, photo.height), 0, 0);
  describe(photo.data).then(function (about) {
    say('Received photo ' + number + ': ' + photo.width + '×' + photo.height + ', ' +
        about + ' in ' + photo.chunks + ' chunks');
    setState('connected: photo ' + number + ' received');
  });
}

// "1228800 bytes, SHA-256 3f2a…" (the hash only where the browser has
// crypto.subtle: http://localhost or https).
function describe(bytes) {
  var size = bytes.length.toLocaleString('en') + ' bytes';
  if (!(window.crypto && crypto.subtle)) return Promise.resolve(size);
  return crypto.subtle.digest('SHA-256', bytes).then(function (hash) {
    var hex = Array.from(new Uint8Array(hash), function (b) {
      return (b < 16 ? '0' : '') + b.toString(16);
    }).join('');
    return size + ', SHA-256 ' + hex.slice(0, 16) + '…';
  });
}

snapButton.onclick = snap;
sendButton.onclick = send;
window.addEventListener('pagehide', function () {
  sendMessage('bye');
});
