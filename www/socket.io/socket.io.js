/* socket.io.js -- a small Socket.IO client for signal.c, to read beside it.
 *
 * Just enough of Socket.IO 4 for the codelab: one WebSocket to
 *   ws(s)://<host>/socket.io/?EIO=4&transport=websocket
 * carrying Engine.IO v4 packets (one per WebSocket text message):
 *   server -> client  0{"sid":...,"pingInterval":...}  open
 *   server -> client  2                                ping; we answer 3 (pong)
 *   client -> server  40                               Socket.IO CONNECT to "/"
 *   server -> client  40{"sid":"<socket id>"}          connected: socket.id
 *   both ways         42["event",arg,...]              an event
 *   server -> client  41                               the server disconnected us
 *   server -> client  44{"message":...}                connect refused
 * No long-polling, no binary events, no acks, no namespaces but "/".
 *
 * Events a page can listen to, with the same names as the official client:
 *   socket.on('connect')          connected; fires again after each reconnect,
 *                                 with a new socket.id (the server forgot us)
 *   socket.on('disconnect', why)  'transport close', 'ping timeout',
 *                                 'io server disconnect', 'io client disconnect'
 *   socket.io.on('reconnect_attempt', n)  trying again, n-th time
 *   socket.io.on('reconnect', n)          back, after n tries
 *
 * The official client (socket.io-client 4) works with signal.c too, given
 * io({transports: ['websocket']}): signal.c has no long-polling, which is
 * that client's first try. This client takes the same call and ignores
 * the options (it only speaks WebSocket). This file only has to define `io`.
 */
(function () {
  'use strict';

  function io(url) {
    var base = typeof url === 'string' ? new URL(url, location.href) : location;
    var endpoint = (base.protocol === 'https:' ? 'wss://' : 'ws://') + base.host +
        '/socket.io/?EIO=4&transport=websocket';
    var socket = { id: undefined, connected: false };
    var handlers = {};    // event name -> [listener, ...]
    var ioHandlers = {};  // the same for socket.io: reconnect_attempt, reconnect
    var attempt = 0;      // tries since the connection was lost, 0 while connected
    var queue = [];       // packets emitted while not connected
    var ws = null;        // the current WebSocket, null between attempts
    var delay = 500;      // next reconnection delay, ms: 500, 1000, ... 5000
    var stopped = false;  // true after disconnect() or a refused connect
    var deadline = null;  // fires when the server's pings stop coming

    function fire(event, args, table) {
      ((table || handlers)[event] || []).slice().forEach(function (fn) {
        fn.apply(socket, args || []);
      });
    }

    socket.on = function (event, fn) {
      (handlers[event] = handlers[event] || []).push(fn);
      return socket;
    };

    // The official client's socket.io is its Manager, which owns the
    // connection and its retries; ours has only the two retry events.
    socket.io = {
      on: function (event, fn) {
        (ioHandlers[event] = ioHandlers[event] || []).push(fn);
        return socket.io;
      }
    };

    socket.emit = function (event) {
      var packet = '42' + JSON.stringify(Array.prototype.slice.call(arguments));
      if (socket.connected) ws.send(packet); else queue.push(packet);
      return socket;
    };

    socket.disconnect = socket.close = function () {
      stopped = true;
      if (ws && socket.connected) ws.send('41');         // DISCONNECT
      if (ws) dropped(ws, 'io client disconnect');
      return socket;
    };

    // The server pings every pingInterval; if nothing comes for
    // pingInterval + pingTimeout, the connection is dead even if no close came.
    function expectPing(ms) {
      clearTimeout(deadline);
      if (!(ms > 0)) return;                             // no intervals given
      deadline = setTimeout(function () { dropped(ws, 'ping timeout'); }, ms);
    }

    function open() {
      if (stopped) return;
      if (attempt > 0) fire('reconnect_attempt', [attempt], ioHandlers);
      var me = ws = new WebSocket(endpoint);
      var wait = 0;
      me.onmessage = function (e) {
        if (me !== ws || typeof e.data !== 'string') return;
        var type = e.data.charAt(0), body = e.data.slice(1);
        if (type === '0') {                              // Engine.IO open
          var hello = JSON.parse(body);
          wait = hello.pingInterval + hello.pingTimeout;
          expectPing(wait);
          ws.send('40');                                 // Socket.IO CONNECT
        } else if (type === '2') {                       // ping -> pong
          expectPing(wait);
          ws.send('3');
        } else if (type === '1') {                       // Engine.IO close
          dropped(me, 'transport close');
        } else if (type === '4') {                       // a Socket.IO packet
          onPacket(body.charAt(0), body.slice(1));
        }
      };
      me.onclose = function () { dropped(me, 'transport close'); };
    }

    function onPacket(type, body) {
      if (type === '0') {                                // CONNECT answered
        socket.id = JSON.parse(body).sid;
        socket.connected = true;
        delay = 500;
        while (queue.length) ws.send(queue.shift());     // in emit order
        var tries = attempt;
        attempt = 0;
        if (tries > 0) fire('reconnect', [tries], ioHandlers);
        fire('connect');
      } else if (type === '2') {                         // EVENT, maybe 42<ackid>[...]
        var args = JSON.parse(body.slice(body.indexOf('[')));
        fire(args[0], args.slice(1));
      } else if (type === '1') {                         // the server let us go
        stopped = true;
        dropped(ws, 'io server disconnect');
      } else if (type === '4') {                         // CONNECT_ERROR
        console.error('socket.io: connection refused:', body);
        fire('connect_error', [new Error(body)]);
        stopped = true;
        dropped(ws, 'io server disconnect');
      }
    }

    // The connection is gone (or we give it up): tell the page, then retry
    // after 500 ms, 1 s, 2 s, 4 s, 5 s, 5 s, ... each +-20%, unless stopped.
    function dropped(which, reason) {
      if (which !== ws) return;                          // an old connection
      ws = null;
      clearTimeout(deadline);
      which.onmessage = which.onclose = null;
      which.close();
      var was = socket.connected;
      socket.connected = false;
      if (was) fire('disconnect', [reason]);
      if (stopped) return;
      attempt++;
      setTimeout(open, delay * (0.8 + 0.4 * Math.random()));
      delay = Math.min(delay * 2, 5000);
    }

    open();
    return socket;
  }

  io.connect = io;
  window.io = io;
})();
