#!/usr/bin/env node
'use strict';
// A small xDS v3 management server for interop tests: envoy.service.discovery.v3.AggregatedDiscoveryService
// (state of the world) served by @grpc/grpc-js from the UPSTREAM Envoy protos that @grpc/grpc-js-xds ships,
// with resources written as JSON objects ("@type" + fields) and encoded by protobufjs — an encoder that is not
// ours, so a test through it checks our decoders against the real wire format.
//
// Protocol (one JSON object per line):
//   stdout  {"event":"listening","port":N}                       once, when bound on 127.0.0.1
//           {"event":"request","stream":S,"node":..,"type":..,"kind":"subscribe"|"ack"|"nack",
//            "version":..,"nonce":..,"responseVersion":..,"names":[..],"error":..}
//           {"event":"response","stream":S,"type":..,"version":..,"nonce":..,"names":[..]}
//           {"event":"applied","id":N,"versions":{typeUrl: version}}     after an "update" command
//           {"event":"error","id":N,"message":..}                         a command was rejected
//           {"event":"stream","stream":S,"state":"open"|"closed",..}
//   stdin   {"id":N,"op":"update","set":[resource, ...],"remove":[{"type":typeUrl,"name":..}, ...]}
//           every resource is checked field by field against the loaded protos (see envoy-protos.js);
//           an unknown field, enum name or Any type rejects the whole command.
// The server exits when stdin closes, so it never outlives the test that started it.
//
// Responses: every change gives each touched type a new version ("1", "2", ...) and is pushed to every stream
// subscribed to the type. LDS/CDS responses carry every subscribed resource that exists (all for a wildcard
// subscription), RDS/EDS the subscribed ones that exist. A stream is (re)answered when its subscription for a
// type changes or it has not seen the type's current version; a NACK alone is not answered.

const readline = require('readline');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const { includeDirs, encodeResource } = require('./envoy-protos');

const LDS = 'type.googleapis.com/envoy.config.listener.v3.Listener';
const CDS = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
const fullStateTypes = new Set([LDS, CDS]);

const packageDefinition = protoLoader.loadSync('envoy/service/discovery/v3/ads.proto', {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs,
});
const ads = grpc.loadPackageDefinition(packageDefinition).envoy.service.discovery.v3.AggregatedDiscoveryService;

function emit(event) {
  process.stdout.write(JSON.stringify(event) + '\n');
}

// typeUrl -> { version: number, resources: Map<name, {type_url, value}> }
const types = new Map();
const streams = new Set();
let nextStreamId = 1;
let nextNonce = 1;

function typeState(typeUrl) {
  let state = types.get(typeUrl);
  if (!state) {
    state = { version: 0, resources: new Map() };
    types.set(typeUrl, state);
  }
  return state;
}

function subscriptionKey(names) {
  return names === null ? '*' : [...names].sort().join('\n');
}

function respond(stream, typeUrl) {
  const state = types.get(typeUrl);
  const sub = stream.subscriptions.get(typeUrl);
  if (!state || state.version === 0 || !sub) return;
  const resources = [];
  const names = [];
  for (const [name, any] of state.resources) {
    if (sub.names === null || sub.names.has(name)) {
      resources.push(any);
      names.push(name);
    }
  }
  const version = String(state.version);
  const nonce = String(nextNonce++);
  sub.sentVersion = version;
  sub.sentKey = subscriptionKey(sub.names);
  stream.sent.set(`${typeUrl} ${nonce}`, version);
  stream.call.write({ version_info: version, resources, type_url: typeUrl, nonce });
  emit({ event: 'response', stream: stream.id, type: typeUrl, version, nonce, names });
}

function onRequest(stream, request) {
  const typeUrl = request.type_url;
  if (request.node && request.node.id) stream.node = request.node.id;
  const nonce = request.response_nonce || '';
  const responseVersion = nonce ? stream.sent.get(`${typeUrl} ${nonce}`) : undefined;
  const error = request.error_detail && (request.error_detail.message || request.error_detail.code)
    ? request.error_detail.message || `code ${request.error_detail.code}`
    : null;
  let kind = 'subscribe';
  if (error !== null) kind = 'nack';
  else if (responseVersion !== undefined && request.version_info === responseVersion) kind = 'ack';
  const requested = request.resource_names || [];
  const first = !stream.subscriptions.has(typeUrl);
  const wildcard = requested.includes('*') || (first && requested.length === 0 && fullStateTypes.has(typeUrl));
  let sub = stream.subscriptions.get(typeUrl);
  if (!sub) {
    sub = { names: null, sentVersion: null, sentKey: null };
    stream.subscriptions.set(typeUrl, sub);
  }
  sub.names = wildcard ? null : new Set(requested);
  emit({
    event: 'request',
    stream: stream.id,
    node: stream.node,
    type: typeUrl,
    kind,
    version: request.version_info || '',
    nonce,
    responseVersion: responseVersion === undefined ? null : responseVersion,
    names: requested,
    error,
  });
  const state = types.get(typeUrl);
  if (!state || state.version === 0) return;
  if (sub.sentKey !== subscriptionKey(sub.names) || sub.sentVersion !== String(state.version)) {
    respond(stream, typeUrl);
  }
}

function streamAggregatedResources(call) {
  const stream = { id: nextStreamId++, call, node: '', subscriptions: new Map(), sent: new Map() };
  streams.add(stream);
  emit({ event: 'stream', stream: stream.id, state: 'open' });
  const close = (why) => {
    if (!streams.delete(stream)) return;
    emit({ event: 'stream', stream: stream.id, state: 'closed', why });
  };
  call.on('data', (request) => {
    try {
      onRequest(stream, request);
    } catch (e) {
      emit({ event: 'error', id: null, message: `stream ${stream.id}: ${e.stack || e}` });
    }
  });
  call.on('end', () => {
    close('client half-closed');
    call.end();
  });
  call.on('error', (e) => close(String(e.message || e)));
  call.on('cancelled', () => close('cancelled'));
}

function applyUpdate(command) {
  // Encode everything first: a bad resource rejects the whole command and changes nothing.
  const encoded = (command.set || []).map((resource, i) => {
    const r = encodeResource(resource, `set[${i}]`);
    if (typeof r.name !== 'string' || r.name.length === 0) throw new Error(`set[${i}]: the resource has no name`);
    return r;
  });
  const touched = [];
  const touch = (typeUrl) => {
    if (!touched.includes(typeUrl)) touched.push(typeUrl);
    return typeState(typeUrl);
  };
  for (const r of encoded) touch(r.typeUrl).resources.set(r.name, r.any);
  for (const removal of command.remove || []) touch(removal.type).resources.delete(removal.name);
  const versions = {};
  for (const typeUrl of touched) {
    const state = types.get(typeUrl);
    state.version += 1;
    versions[typeUrl] = String(state.version);
  }
  emit({ event: 'applied', id: command.id, versions });
  for (const typeUrl of touched) {
    for (const stream of streams) {
      if (stream.subscriptions.has(typeUrl)) respond(stream, typeUrl);
    }
  }
}

const server = new grpc.Server();
server.addService(ads.service, { StreamAggregatedResources: streamAggregatedResources });
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    process.stderr.write(`bind failed: ${err.stack || err}\n`);
    process.exit(2);
  }
  emit({ event: 'listening', port });
});

const input = readline.createInterface({ input: process.stdin });
input.on('line', (line) => {
  if (!line.trim()) return;
  let command;
  try {
    command = JSON.parse(line);
  } catch (e) {
    emit({ event: 'error', id: null, message: `not JSON: ${e.message}` });
    return;
  }
  try {
    if (command.op === 'update') applyUpdate(command);
    else throw new Error(`unknown op ${JSON.stringify(command.op)}`);
  } catch (e) {
    emit({ event: 'error', id: command.id === undefined ? null : command.id, message: e.message });
  }
});
input.on('close', () => {
  server.forceShutdown();
  process.exit(0);
});
