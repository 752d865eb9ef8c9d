#!/usr/bin/env python3
"""A tiny MQTT server that accepts connections and then stops acknowledging (stall fixture).

It completes CONNECT/CONNACK (MQTT 3.1.1 and 5), answers SUBSCRIBE and PINGREQ, and sends PUBACK
for the first --ack QoS 1 PUBLISH packets only; every later one is silently never acknowledged,
like a broker that is "connected" but stalled. Loopback only; stdlib only.

usage: fake_mqtt_server.py --port-file FILE [--ack N]
  Listens on 127.0.0.1 on a free port and writes it to FILE once listening. Prints one line per
  packet to stdout ("publish id=7 acked=false").
"""
import argparse
import os
import socket
import sys
import threading

lock = threading.Lock()
publishes = 0


def read_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def read_packet(conn):
    header = read_exact(conn, 1)[0]
    length, mult = 0, 1
    while True:
        b = read_exact(conn, 1)[0]
        length += (b & 0x7F) * mult
        if not b & 0x80:
            break
        mult *= 128
    return header, read_exact(conn, length) if length else b""


def serve(conn, ack_limit):
    global publishes
    version = 4
    try:
        while True:
            header, body = read_packet(conn)
            kind = header >> 4
            if kind == 1:  # CONNECT: protocol name (2+len), level
                name_len = int.from_bytes(body[0:2], "big")
                version = body[2 + name_len]
                conn.sendall(b"\x20\x03\x00\x00\x00" if version == 5 else b"\x20\x02\x00\x00")
                print("connect version=%d" % version, flush=True)
            elif kind == 3:  # PUBLISH
                qos = (header >> 1) & 3
                topic_len = int.from_bytes(body[0:2], "big")
                if qos == 0:
                    continue
                pid = body[2 + topic_len:4 + topic_len]
                with lock:
                    publishes += 1
                    ack = publishes <= ack_limit
                print("publish id=%d acked=%s" % (int.from_bytes(pid, "big"),
                                                  "true" if ack else "false"), flush=True)
                if ack:
                    conn.sendall(b"\x40\x02" + pid)
            elif kind == 8:  # SUBSCRIBE: grant QoS 1 for every filter
                pid = body[0:2]
                if version == 5:  # packet id, no properties, granted QoS 1
                    conn.sendall(b"\x90\x04" + pid + b"\x00\x01")
                else:
                    conn.sendall(b"\x90\x03" + pid + b"\x01")
            elif kind == 12:  # PINGREQ
                conn.sendall(b"\xd0\x00")
            elif kind == 14:  # DISCONNECT
                break
    except (EOFError, OSError):
        pass
    finally:
        conn.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--ack", type=int, default=0)
    a = p.parse_args()
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(srv.getsockname()[1]))
    os.rename(a.port_file + ".tmp", a.port_file)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, a.ack), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
