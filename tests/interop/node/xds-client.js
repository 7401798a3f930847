#!/usr/bin/env node
'use strict';
// Reference client: @grpc/grpc-js with the @grpc/grpc-js-xds resolver, calling mesh.samples.Echo/Hello on an
// xds:/// target. The bootstrap comes from GRPC_XDS_BOOTSTRAP (a file), as in a real deployment.
//
//   node xds-client.js <target> [calls]      e.g. xds:///echo 10
//
// Makes <calls> calls (default 1; wait-for-ready, 10 s deadline each), printing one JSON line per call:
//   {"event":"reply","backend":..,"authority":..,"message":..}  or  {"event":"rpc-error","code":N,"details":..}
// then {"event":"done"}. It then reads commands on stdin, one per line — "call <n> [header=value ...]" makes n
// more calls with those metadata — and exits when stdin closes, so it never outlives its test.

const path = require('path');
const readline = require('readline');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
require('@grpc/grpc-js-xds').register();

const [target, callsArg] = process.argv.slice(2);
if (!target) {
  process.stderr.write('usage: node xds-client.js <xds:///target> [calls]\n');
  process.exit(2);
}

const echoProto = path.resolve(__dirname, '..', '..', '..', 'samples', 'Mesh.Samples.Echo', 'echo.proto');
const definition = protoLoader.loadSync(echoProto, { keepCase: true, defaults: true });
const Echo = grpc.loadPackageDefinition(definition).mesh.samples.Echo;
const client = new Echo(target, grpc.credentials.createInsecure());

function emit(event) {
  process.stdout.write(JSON.stringify(event) + '\n');
}

function callOnce(headers) {
  return new Promise((resolve) => {
    const metadata = new grpc.Metadata({ waitForReady: true });
    for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
    client.Hello({ name: 'grpc-js' }, metadata, { deadline: Date.now() + 10000 }, (err, reply) => {
      if (err) emit({ event: 'rpc-error', code: err.code, details: err.details });
      else emit({ event: 'reply', backend: reply.backend, authority: reply.authority, message: reply.message });
      resolve();
    });
  });
}

async function calls(count, headers) {
  for (let i = 0; i < count; i++) await callOnce(headers);
  emit({ event: 'done' });
}

let queue = calls(Number(callsArg || 1), {});
const input = readline.createInterface({ input: process.stdin });
input.on('line', (line) => {
  const [op, count, ...pairs] = line.trim().split(/\s+/);
  if (op !== 'call') {
    emit({ event: 'error', message: `unknown command ${JSON.stringify(line)}` });
    return;
  }
  const headers = Object.fromEntries(pairs.map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
  queue = queue.then(() => calls(Number(count || 1), headers));
});
input.on('close', () => {
  client.close();
  process.exit(0);
});
