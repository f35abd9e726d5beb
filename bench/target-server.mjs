// The HTTP server the benchmark's jobs call, on loopback only. It does as little as it can per
// request, because it shares the machine's cores with the daemon and PostgreSQL it is measuring.
//
//   GET /fast          200 at once
//   GET /delay/<ms>    200 after <ms> milliseconds (at most 60,000)
//   GET /__stats       what reached the server since the last /__reset, as JSON: it tells
//                      a slow dispatch of requests from a slow store of their results
//   GET /__reset       zeroes those counters
//
// Usage: node target-server.mjs <port-file>   (listens on a free port and writes it to the file)

import http from 'node:http';
import fs from 'node:fs';

const portFile = process.argv[2];
const MAX_DELAY_MS = 60_000;

let openConnections = 0;
let stats = freshStats();

function freshStats() {
    return {
        requests: 0,
        connectionsOpened: 0,
        maxOpenConnections: openConnections,
        inFlight: 0,
        maxInFlight: 0,
        firstRequestAt: null,
        lastRequestAt: null,
        lastResponseAt: null,
    };
}

const server = http.createServer((request, response) => {
    if (request.url === '/__stats') {
        answerJson(response, { ...stats, openConnections });
        return;
    }
    if (request.url === '/__reset') {
        stats = freshStats();
        answerJson(response, { reset: true });
        return;
    }
    const now = Date.now();
    stats.requests += 1;
    stats.firstRequestAt ??= now;
    stats.lastRequestAt = now;
    stats.inFlight += 1;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);

    const delay = /^\/delay\/(\d+)/.exec(request.url);
    if (delay) {
        const ms = Math.min(Number(delay[1]), MAX_DELAY_MS);
        setTimeout(() => answer(response, 200), ms);
    } else if (request.url.startsWith('/fast')) {
        answer(response, 200);
    } else {
        answer(response, 404);
    }
});

function answer(response, status) {
    stats.inFlight -= 1;
    stats.lastResponseAt = Date.now();
    response.writeHead(status, { 'Content-Type': 'text/plain', 'Content-Length': '3' });
    response.end(status === 200 ? 'ok\n' : 'no\n');
}

function answerJson(response, value) {
    const body = JSON.stringify(value);
    response.writeHead(200, {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(body),
    });
    response.end(body);
}

server.on('connection', (socket) => {
    openConnections += 1;
    stats.connectionsOpened += 1;
    stats.maxOpenConnections = Math.max(stats.maxOpenConnections, openConnections);
    socket.on('close', () => {
        openConnections -= 1;
    });
});

// Longer than Vert.x's 60 s client keep-alive, so the client, not the server, ends idle
// connections and no job ever races a connection the server is closing.
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.requestTimeout = 0;
// The 10,000-job scenario opens up to 10,000 connections at once; the kernel caps this at
// net.core.somaxconn.
server.listen({ port: 0, host: '127.0.0.1', backlog: 16_384 }, () => {
    fs.writeFileSync(portFile, String(server.address().port));
});

for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => process.exit(0));
}
