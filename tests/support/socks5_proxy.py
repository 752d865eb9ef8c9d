#!/usr/bin/env python3
"""A small SOCKS5 proxy (RFC 1928, CONNECT only) with username/password authentication (RFC 1929).

Relays bytes both ways between the client and the target it names (IPv4, IPv6 or a domain name).
Refuses a wrong user name or password (status 1) and a client that offers no username/password
method (0xFF); answers a target that refuses with reply 5 (connection refused). Loopback only;
stdlib only.

usage: socks5_proxy.py --port-file FILE --user USER --password PASSWORD
  Listens on 127.0.0.1 on a free port and writes it to FILE once listening. Prints one line per
  tunnel to stdout ("connect 127.0.0.1:1883 ok").
"""
import argparse
import os
import socket
import struct
import sys
import threading


def read_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def authenticate(conn, user, password):
    version, n = read_exact(conn, 2)
    methods = read_exact(conn, n)
    if version != 5 or 2 not in methods:
        conn.sendall(b"\x05\xff")
        return False
    conn.sendall(b"\x05\x02")
    read_exact(conn, 1)  # sub-negotiation version
    got_user = read_exact(conn, read_exact(conn, 1)[0]).decode("utf-8", "replace")
    got_password = read_exact(conn, read_exact(conn, 1)[0]).decode("utf-8", "replace")
    ok = got_user == user and got_password == password
    conn.sendall(b"\x01\x00" if ok else b"\x01\x01")
    return ok


def target_of(conn):
    _, cmd, _, atyp = read_exact(conn, 4)
    if atyp == 1:
        host = socket.inet_ntop(socket.AF_INET, read_exact(conn, 4))
    elif atyp == 4:
        host = socket.inet_ntop(socket.AF_INET6, read_exact(conn, 16))
    else:
        host = read_exact(conn, read_exact(conn, 1)[0]).decode()
    (port,) = struct.unpack("!H", read_exact(conn, 2))
    return cmd, host, port


def serve(conn, user, password):
    try:
        if not authenticate(conn, user, password):
            print("auth refused", flush=True)
            return
        cmd, host, port = target_of(conn)
        try:
            upstream = socket.create_connection((host, port), timeout=5)
            upstream.settimeout(None)
        except OSError:
            conn.sendall(b"\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00")
            print(f"connect {host}:{port} refused", flush=True)
            return
        conn.sendall(b"\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x00")
        print(f"connect {host}:{port} ok", flush=True)
        threading.Thread(target=pump, args=(upstream, conn), daemon=True).start()
        pump(conn, upstream)
    except (EOFError, OSError):
        pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    a = p.parse_args()
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.getsockname()[1]))
    os.rename(tmp, a.port_file)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, a.user, a.password), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
