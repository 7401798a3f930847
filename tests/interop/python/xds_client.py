#!/usr/bin/python3
"""Reference client: gRPC C-core (Debian's python3-grpcio) with its built-in xds resolver, calling
mesh.samples.Echo/Hello on an xds:/// target. The bootstrap comes from GRPC_XDS_BOOTSTRAP (a file).

    /usr/bin/python3 xds_client.py <target> [calls]      e.g. xds:///echo 10

Makes <calls> calls (default 1; wait-for-ready, 10 s deadline each), printing one JSON line per call:
    {"event":"reply","backend":..,"authority":..,"message":..}  or  {"event":"rpc-error","code":..,"details":..}
then {"event":"done"}. It then reads commands on stdin, one per line -- "call <n> [header=value ...]" makes n
more calls with those metadata -- and exits when stdin closes, so it never outlives its test.

No generated stubs: HelloRequest and HelloReply are encoded by hand (all their fields are strings).
"""
import json
import sys

import grpc


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def encode_hello_request(name):
    # HelloRequest { string name = 1; }
    data = name.encode("utf-8")
    return b"\x0a" + _varint(len(data)) + data if data else b""


def decode_hello_reply(data):
    # HelloReply { string backend = 1; string authority = 2; string message = 3; }
    fields = {1: "backend", 2: "authority", 3: "message"}
    out = {"backend": "", "authority": "", "message": ""}
    i = 0
    while i < len(data):
        key, i = _read_varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 2:
            length, i = _read_varint(data, i)
            value = data[i:i + length]
            i += length
            if number in fields:
                out[fields[number]] = value.decode("utf-8")
        elif wire == 0:
            _, i = _read_varint(data, i)
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        else:
            raise ValueError("unexpected wire type %d" % wire)
    return out


def _read_varint(data, i):
    shift = 0
    result = 0
    while True:
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def emit(event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def main():
    if len(sys.argv) < 2:
        sys.stderr.write("usage: xds_client.py <xds:///target> [calls]\n")
        return 2
    target = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    channel = grpc.insecure_channel(target)
    hello = channel.unary_unary(
        "/mesh.samples.Echo/Hello",
        request_serializer=encode_hello_request,
        response_deserializer=decode_hello_reply,
    )

    def calls(n, headers):
        for _ in range(n):
            try:
                reply = hello("c-core", timeout=10, wait_for_ready=True, metadata=headers or None)
                emit({"event": "reply", **reply})
            except grpc.RpcError as e:
                emit({"event": "rpc-error", "code": e.code().name, "details": e.details()})
        emit({"event": "done"})

    calls(count, [])
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] != "call":
            emit({"event": "error", "message": "unknown command %r" % line.strip()})
            continue
        n = int(parts[1]) if len(parts) > 1 else 1
        headers = [tuple(p.split("=", 1)) for p in parts[2:]]
        calls(n, headers)
    channel.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
