#!/usr/bin/env node
// Wire-contract check for src/Mesh.Client/Xds/Protos.
//
// Our .proto files are a hand-written subset of the Envoy xDS v3 API. This script loads them and
// the upstream protos shipped in @grpc/grpc-js-xds, then verifies, for every type we declare:
//   - the type exists upstream under the same fully-qualified name and in the same file path;
//   - every field we declare exists upstream with the same number, type, label (repeated / map),
//     packing and oneof membership, and we use no number that upstream gives to a different field;
//   - every enum value we declare has the same number upstream;
//   - every rpc we declare has the same request / response types and streaming flags.
// Fields upstream has and we leave out are fine (they travel as unknown fields); they are counted.
//
// Usage: npm ci --prefix tests/interop && node tests/interop/protocheck/check.js [--verbose] [--ours=<dir>]
// (--ours checks another copy of the protos). The node package is tests/interop/package.json; the .NET test
// Mesh.Client.Tests.Interop.ProtoCheckTests runs this script in `dotnet test`.
// Exit code 0 when everything matches, 1 with one line per mismatch otherwise.
'use strict';

const fs = require('fs');
const path = require('path');
const protobuf = require('protobufjs');

const verbose = process.argv.includes('--verbose');
const repoRoot = path.resolve(__dirname, '..', '..', '..');
const oursArg = process.argv.find((a) => a.startsWith('--ours='));
const oursDir = oursArg
  ? path.resolve(oursArg.slice('--ours='.length))
  : path.join(repoRoot, 'src', 'Mesh.Client', 'Xds', 'Protos');
const depsDir = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
const protobufjsDir = path.dirname(require.resolve('protobufjs/package.json'));

const upstreamIncludes = [
  path.join(depsDir, 'envoy-api'),
  path.join(depsDir, 'googleapis'),
  path.join(depsDir, 'protoc-gen-validate'),
  path.join(depsDir, 'xds'),
  // descriptor.proto (imported by the annotation protos) is not bundled as a common type.
  protobufjsDir,
];

function listProtos(dir, rel = '') {
  const out = [];
  for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listProtos(dir, r));
    else if (entry.name.endsWith('.proto')) out.push(r);
  }
  return out.sort();
}

// A Root that resolves imports against include directories (protobufjs itself bundles
// google/protobuf/{any,duration,struct,wrappers,empty,...}.proto and serves those first).
function makeRoot(includes) {
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => {
    if (path.isAbsolute(target)) return target;
    for (const dir of includes) {
      const candidate = path.join(dir, target);
      if (fs.existsSync(candidate)) return candidate;
    }
    return protobuf.util.path.resolve(origin, target);
  };
  return root;
}

function load(includes, files) {
  const root = makeRoot(includes);
  root.loadSync(files.map((f) => {
    for (const dir of includes) {
      const candidate = path.join(dir, f);
      if (fs.existsSync(candidate)) return candidate;
    }
    return f;
  }), { keepCase: true });
  root.resolveAll();
  return root;
}

// Path of the file that defined a reflection object, relative to its include directory.
function relFile(obj, includes) {
  const file = obj.filename || '';
  for (const dir of includes) {
    if (file.startsWith(dir + path.sep)) return file.slice(dir.length + 1).split(path.sep).join('/');
  }
  return file;
}

function isWellKnown(obj) {
  return obj.fullName.startsWith('.google.protobuf.');
}

function collect(ns, out = { types: [], enums: [], services: [] }) {
  for (const nested of ns.nestedArray) {
    if (nested instanceof protobuf.Type) out.types.push(nested);
    else if (nested instanceof protobuf.Enum) out.enums.push(nested);
    else if (nested instanceof protobuf.Service) out.services.push(nested);
    if (nested.nestedArray) collect(nested, out);
  }
  return out;
}

function fieldType(f) {
  const t = f.resolvedType ? f.resolvedType.fullName : f.type;
  return f.map ? `map<${f.keyType}, ${t}>` : t;
}

function label(f) {
  if (f.map) return 'map';
  return f.repeated ? 'repeated' : 'singular';
}

function oneofName(f) {
  return f.partOf ? f.partOf.name : '(none)';
}

function isReserved(type, id) {
  return (type.reserved || []).some((r) => Array.isArray(r) && id >= r[0] && id <= r[1]);
}

function main() {
  const ourFiles = listProtos(oursDir);
  const mismatches = [];
  const fail = (where, what) => mismatches.push(`${where}: ${what}`);

  // Our files must sit at the upstream paths.
  const upstreamFiles = [];
  for (const f of ourFiles) {
    if (upstreamIncludes.some((dir) => fs.existsSync(path.join(dir, f)))) upstreamFiles.push(f);
    else fail(f, 'no upstream file at this path');
  }

  const ours = load([oursDir], ourFiles);
  const upstream = load(upstreamIncludes, upstreamFiles);

  const { types, enums, services } = collect(ours);
  const stats = { files: ourFiles.length, messages: 0, fields: 0, enums: 0, enumValues: 0, rpcs: 0, omitted: 0 };
  const omittedByType = [];

  const lookupUpstream = (obj, ctor, kind) => {
    const up = upstream.lookup(obj.fullName);
    if (!up || !(up instanceof ctor)) {
      fail(obj.fullName.slice(1), `${kind} not found upstream`);
      return null;
    }
    const ourFile = relFile(obj, [oursDir]);
    const upFile = relFile(up, upstreamIncludes);
    // Only top-level definitions carry a meaningful file; nested ones inherit it.
    if (ourFile !== upFile) fail(obj.fullName.slice(1), `declared in ${ourFile}, upstream in ${upFile}`);
    return up;
  };

  for (const type of types) {
    if (isWellKnown(type)) continue;
    stats.messages++;
    const name = type.fullName.slice(1);
    const up = lookupUpstream(type, protobuf.Type, 'message');
    if (!up) { stats.fields += type.fieldsArray.length; continue; }

    for (const f of type.fieldsArray) {
      stats.fields++;
      const where = `${name}.${f.name}`;
      const uf = up.fields[f.name];
      if (!uf) {
        const byId = up.fieldsById[f.id];
        fail(where, byId
          ? `no such field upstream (number ${f.id} is upstream field '${byId.name}')`
          : `no such field upstream${isReserved(up, f.id) ? ` (number ${f.id} is reserved upstream)` : ''}`);
        continue;
      }
      if (uf.id !== f.id) fail(where, `number ${f.id}, upstream ${uf.id}`);
      if (fieldType(uf) !== fieldType(f)) fail(where, `type ${fieldType(f)}, upstream ${fieldType(uf)}`);
      if (label(uf) !== label(f)) fail(where, `label ${label(f)}, upstream ${label(uf)}`);
      if (oneofName(uf) !== oneofName(f)) fail(where, `oneof ${oneofName(f)}, upstream ${oneofName(uf)}`);
      if (f.repeated && !f.map && uf.packed !== f.packed) fail(where, `packed ${f.packed}, upstream ${uf.packed}`);
    }

    // Numbers we reserve must not be live fields upstream (we would be hiding something real).
    for (const r of type.reserved || []) {
      if (!Array.isArray(r)) continue;
      for (let id = r[0]; id <= r[1]; id++) {
        if (up.fieldsById[id]) fail(name, `reserves ${id}, upstream field '${up.fieldsById[id].name}'`);
      }
    }

    const omitted = up.fieldsArray.filter((uf) => !type.fields[uf.name]).map((uf) => `${uf.name}=${uf.id}`);
    stats.omitted += omitted.length;
    if (omitted.length) omittedByType.push(`${name}: ${omitted.join(', ')}`);
  }

  for (const en of enums) {
    if (isWellKnown(en)) continue;
    stats.enums++;
    const name = en.fullName.slice(1);
    const up = lookupUpstream(en, protobuf.Enum, 'enum');
    for (const [valueName, id] of Object.entries(en.values)) {
      stats.enumValues++;
      if (!up) continue;
      if (!(valueName in up.values)) fail(`${name}.${valueName}`, 'no such enum value upstream');
      else if (up.values[valueName] !== id) fail(`${name}.${valueName}`, `value ${id}, upstream ${up.values[valueName]}`);
    }
  }

  for (const svc of services) {
    const name = svc.fullName.slice(1);
    const up = lookupUpstream(svc, protobuf.Service, 'service');
    for (const m of svc.methodsArray) {
      stats.rpcs++;
      if (!up) continue;
      const um = up.methods[m.name];
      const where = `${name}.${m.name}`;
      if (!um) { fail(where, 'no such rpc upstream'); continue; }
      const shape = (x) => `${x.requestStream ? 'stream ' : ''}${x.resolvedRequestType.fullName} -> ` +
        `${x.responseStream ? 'stream ' : ''}${x.resolvedResponseType.fullName}`;
      if (shape(m) !== shape(um)) fail(where, `${shape(m)}, upstream ${shape(um)}`);
    }
  }

  console.log(`protocheck: ${stats.files} files, ${stats.messages} messages, ${stats.fields} fields, ` +
    `${stats.enums} enums (${stats.enumValues} values), ${stats.rpcs} rpcs checked against ` +
    `@grpc/grpc-js-xds ${require('@grpc/grpc-js-xds/package.json').version} upstream protos`);
  console.log(`protocheck: ${stats.omitted} upstream fields of these messages are not modelled` +
    (verbose ? ':' : ' (--verbose lists them)'));
  if (verbose) for (const line of omittedByType) console.log(`  ${line}`);

  if (mismatches.length) {
    console.log(`protocheck: FAILED, ${mismatches.length} mismatch(es):`);
    for (const m of mismatches) console.log(`  ${m}`);
    process.exit(1);
  }
  console.log('protocheck: OK, every declared field, enum value and rpc matches upstream');
}

main();
