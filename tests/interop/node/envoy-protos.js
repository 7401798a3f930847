'use strict';
// The upstream Envoy / xDS protos shipped in @grpc/grpc-js-xds (deps/), loaded with protobufjs, plus a strict
// checker for resources written as JSON objects.
//
// protobufjs' fromObject drops what it does not know without a word: a misspelt field, an unknown enum name,
// and an Any whose "@type" names a message that was not loaded (the Any is then sent EMPTY). checkObject()
// walks a JSON object against the loaded types and throws on every such case, so that a test resource is
// encoded exactly as written or not at all.

const fs = require('fs');
const path = require('path');
const protobuf = require('protobufjs');

const depsDir = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
const includeDirs = [
  path.join(depsDir, 'envoy-api'),
  path.join(depsDir, 'googleapis'),
  path.join(depsDir, 'protoc-gen-validate'),
  path.join(depsDir, 'xds'),
  // descriptor.proto (imported by the annotation protos) is not bundled as a common type.
  path.dirname(require.resolve('protobufjs/package.json')),
];

// Every message type a test resource may contain, directly or inside an Any.
const protoFiles = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto',
  'envoy/extensions/load_balancing_policies/least_request/v3/least_request.proto',
  'envoy/extensions/load_balancing_policies/ring_hash/v3/ring_hash.proto',
  'envoy/extensions/load_balancing_policies/maglev/v3/maglev.proto',
  'envoy/extensions/load_balancing_policies/random/v3/random.proto',
  'envoy/extensions/load_balancing_policies/pick_first/v3/pick_first.proto',
  'envoy/extensions/load_balancing_policies/wrr_locality/v3/wrr_locality.proto',
  'envoy/extensions/load_balancing_policies/client_side_weighted_round_robin/v3/client_side_weighted_round_robin.proto',
  'envoy/extensions/clusters/aggregate/v3/cluster.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'xds/type/v3/typed_struct.proto',
  'udpa/type/v1/typed_struct.proto',
];

function findFile(target) {
  for (const dir of includeDirs) {
    const candidate = path.join(dir, target);
    if (fs.existsSync(candidate)) return candidate;
  }
  return null;
}

function loadRoot() {
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => {
    if (path.isAbsolute(target)) return target;
    return findFile(target) || protobuf.util.path.resolve(origin, target);
  };
  root.loadSync(protoFiles.map((f) => {
    const file = findFile(f);
    if (!file) throw new Error(`proto ${f} not found under ${depsDir}`);
    return file;
  }), { keepCase: true });
  root.resolveAll();
  return root;
}

const root = loadRoot();
const AnyType = root.lookupType('google.protobuf.Any');

function typeNameOf(typeUrl) {
  return typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
}

function lookupMessage(name, where) {
  let type = null;
  try {
    type = root.lookupType(name);
  } catch {
    type = null;
  }
  if (!type) throw new Error(`${where}: message type ${name} is not loaded (add its .proto to envoy-protos.js), it would be sent as an empty Any`);
  return type;
}

const int64Types = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const int32Types = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);

function checkScalar(field, value, where) {
  const t = field.type;
  if (t === 'string') {
    if (typeof value !== 'string') throw new Error(`${where}: expected a string, found ${JSON.stringify(value)}`);
  } else if (t === 'bool') {
    if (typeof value !== 'boolean') throw new Error(`${where}: expected true or false, found ${JSON.stringify(value)}`);
  } else if (int32Types.has(t)) {
    if (!Number.isInteger(value)) throw new Error(`${where}: expected an integer, found ${JSON.stringify(value)}`);
    if (t.startsWith('u') || t.startsWith('fixed')) {
      if (value < 0 || value > 0xffffffff) throw new Error(`${where}: ${value} is out of range for ${t}`);
    } else if (value < -0x80000000 || value > 0x7fffffff) throw new Error(`${where}: ${value} is out of range for ${t}`);
  } else if (int64Types.has(t)) {
    if (!(Number.isInteger(value) || (typeof value === 'string' && /^-?\d+$/.test(value)))) {
      throw new Error(`${where}: expected an integer (or a decimal string), found ${JSON.stringify(value)}`);
    }
  } else if (t === 'double' || t === 'float') {
    if (typeof value !== 'number') throw new Error(`${where}: expected a number, found ${JSON.stringify(value)}`);
  } else if (t === 'bytes') {
    if (typeof value !== 'string') throw new Error(`${where}: expected base64 bytes, found ${JSON.stringify(value)}`);
  } else {
    throw new Error(`${where}: unexpected scalar type ${t}`);
  }
}

function checkValue(field, value, where) {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) {
    if (typeof value === 'string') {
      if (!(value in resolved.values)) {
        throw new Error(`${where}: ${value} is not a value of ${resolved.fullName.slice(1)} (${Object.keys(resolved.values).join(', ')})`);
      }
    } else if (!Number.isInteger(value)) {
      throw new Error(`${where}: expected an enum name or number, found ${JSON.stringify(value)}`);
    }
  } else if (resolved instanceof protobuf.Type) {
    checkMessage(resolved, value, where);
  } else {
    checkScalar(field, value, where);
  }
}

/** Throws unless obj is exactly an object of message type `type` (field names, enum names, Any types). */
function checkMessage(type, obj, where) {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new Error(`${where}: expected an object for ${type.fullName.slice(1)}, found ${JSON.stringify(obj)}`);
  }
  if (type === AnyType) {
    const typeUrl = obj['@type'];
    if (typeof typeUrl !== 'string' || !typeUrl.includes('/')) {
      throw new Error(`${where}: an Any needs "@type": "type.googleapis.com/<message>"`);
    }
    const inner = lookupMessage(typeNameOf(typeUrl), where);
    const rest = { ...obj };
    delete rest['@type'];
    checkMessage(inner, rest, `${where}<${inner.fullName.slice(1)}>`);
    return;
  }
  const oneofs = new Map();
  for (const [key, value] of Object.entries(obj)) {
    const field = type.fields[key];
    const at = where ? `${where}.${key}` : key;
    if (!field) {
      throw new Error(`${at}: ${type.fullName.slice(1)} has no field '${key}' (fields: ${Object.keys(type.fields).join(', ')})`);
    }
    if (field.partOf && !field.partOf.name.startsWith('_')) {
      const other = oneofs.get(field.partOf.name);
      if (other) throw new Error(`${at}: oneof ${field.partOf.name} is already set by '${other}'`);
      oneofs.set(field.partOf.name, key);
    }
    if (field.map) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${at}: expected a map object`);
      for (const [k, v] of Object.entries(value)) checkValue(field, v, `${at}[${JSON.stringify(k)}]`);
    } else if (field.repeated) {
      if (!Array.isArray(value)) throw new Error(`${at}: expected an array`);
      value.forEach((v, i) => checkValue(field, v, `${at}[${i}]`));
    } else {
      checkValue(field, value, at);
    }
  }
}

/**
 * Encodes a resource given as a JSON object with "@type" into an Any ({type_url, value}) after checking it.
 * Returns { typeUrl, name, any }.
 */
function encodeResource(obj, where) {
  checkMessage(AnyType, obj, where);
  const typeUrl = obj['@type'];
  const type = lookupMessage(typeNameOf(typeUrl), where);
  const rest = { ...obj };
  delete rest['@type'];
  const message = type.fromObject(rest);
  const value = Buffer.from(type.encode(message).finish());
  // Belt and braces: the encoded message must decode to the same JSON shape (no field silently lost).
  const back = type.toObject(type.decode(value), { longs: String, enums: String, bytes: String, defaults: true, json: true });
  const lost = missingKeys(rest, back, '');
  if (lost.length) throw new Error(`${where}: fields lost in encoding: ${lost.join(', ')}`);
  const name = rest.name !== undefined ? rest.name : rest.cluster_name;
  return { typeUrl, name, any: { type_url: typeUrl, value } };
}

// Keys of `a` that have no counterpart in `b` (recursively; Any values are opaque bytes in `b`).
function missingKeys(a, b, where) {
  const out = [];
  if (a === null || typeof a !== 'object') return out;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || b.length !== a.length) return [`${where} (array length)`];
    a.forEach((v, i) => out.push(...missingKeys(v, b[i], `${where}[${i}]`)));
    return out;
  }
  if ('@type' in a) return b && typeof b === 'object' ? out : [where];
  for (const key of Object.keys(a)) {
    if (b === null || typeof b !== 'object' || !(key in b) || (b[key] === null && a[key] !== null)) {
      out.push(where ? `${where}.${key}` : key);
    } else {
      out.push(...missingKeys(a[key], b[key], where ? `${where}.${key}` : key));
    }
  }
  return out;
}

module.exports = { root, includeDirs, protoFiles, depsDir, encodeResource, checkMessage };
