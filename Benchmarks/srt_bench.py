#!/usr/bin/env python3
"""SRT load for Benchmarks/srt.sh, over Debian's libsrt through ctypes (no build step).

  srt_bench.py latency --srt-port P --http-port H --sign S --ts FILE [--seconds 20] [--viewers 5]
      Publishes FILE (MPEG-TS) over SRT in real time, 1316-byte messages paced by the PES
      timestamps, noting when each video frame's last byte left; HTTP-FLV viewers (plain
      sockets) note when each video tag arrives. Prints the server-added latency per frame
      (last byte sent -> FLV tag received, same clock), p50/p95/p99, and how long the frame's
      end waited for the next frame's first byte (a TS demuxer can only finish a video PES of
      unbounded length when the next one starts).
  srt_bench.py play --srt-port P --sign S --ts FILE --viewers N [--seconds 15]
      Publishes FILE over SRT and connects N SRT players (m=request), read on one thread with
      libsrt's epoll; prints each player's received rate against the published one, for the
      driver to set beside the server's CPU.
"""
import argparse
import ctypes
import socket
import statistics
import struct
import sys
import threading
import time

SRTO_SNDSYN, SRTO_RCVSYN, SRTO_LATENCY, SRTO_CONNTIMEO, SRTO_STREAMID = 1, 2, 23, 36, 46
SRT_EPOLL_IN, SRT_EPOLL_ERR = 0x1, 0x8
MESSAGE = 1316


class SRT:
    def __init__(self):
        # The GnuTLS flavour is the one FFmpeg and sluice load; the OpenSSL one works alone too.
        try:
            self.lib = ctypes.CDLL("libsrt-gnutls.so.1.5")
        except OSError:
            self.lib = ctypes.CDLL("libsrt.so.1.5")
        self.lib.srt_startup()
        self.lib.srt_recvmsg.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        self.lib.srt_sendmsg2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p]
        self.lib.srt_epoll_uwait.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int64]

    def connect(self, port, streamid, latency_ms=120, blocking=True):
        lib = self.lib
        sock = lib.srt_create_socket()
        text = streamid.encode()
        lib.srt_setsockflag(sock, SRTO_STREAMID, ctypes.c_char_p(text), len(text))
        for option, value in ((SRTO_LATENCY, latency_ms), (SRTO_CONNTIMEO, 5000)):
            number = ctypes.c_int(value)
            lib.srt_setsockflag(sock, option, ctypes.byref(number), 4)
        address = struct.pack("<hH4s8x", socket.AF_INET, socket.htons(port), socket.inet_aton("127.0.0.1"))
        if lib.srt_connect(sock, address, len(address)) < 0:
            reason = lib.srt_getrejectreason(sock)
            raise RuntimeError(f"SRT connect {streamid}: refused, reason {reason}")
        if not blocking:
            off = ctypes.c_bool(False)
            lib.srt_setsockflag(sock, SRTO_RCVSYN, ctypes.byref(off), 1)
        return sock


def pes_timestamp(packet):
    """(pid, payload start?, DTS or PTS in 90 kHz or None, PES length or None, video?) of one TS packet."""
    pid = ((packet[1] & 0x1F) << 8) | packet[2]
    start = bool(packet[1] & 0x40)
    offset = 4
    if packet[3] & 0x20:
        offset += 1 + packet[4]
    if not start or offset + 14 > 188 or packet[offset:offset + 3] != b"\x00\x00\x01":
        return pid, start, None, None, False
    length = (packet[offset + 4] << 8) | packet[offset + 5]
    flags = packet[offset + 7] >> 6

    def read(at):
        b = packet[at:at + 5]
        return ((b[0] >> 1) & 7) << 30 | b[1] << 22 | (b[2] >> 1) << 15 | b[3] << 7 | b[4] >> 1

    pts = read(offset + 9) if flags & 2 else None
    dts = read(offset + 14) if flags == 3 else pts
    return pid, start, dts, (length if length else None), 0xE0 <= packet[offset + 3] <= 0xEF


def plan(path):
    """The file as messages with their send times (s from the first PES), and per video frame its
    server time (ms, as the demuxer counts them), the message holding its last byte and the one
    holding the next frame's first byte."""
    data = open(path, "rb").read()
    packets = [data[i:i + 188] for i in range(0, len(data) - 187, 188)]
    video_pid = None
    first = origin = None
    clock = 0.0
    open_pes = {}  # pid -> [timestamp, declared length, bytes so far]
    frames = []  # [ms, last message, next-start message]
    times = []
    for index, packet in enumerate(packets):
        pid, start, stamp, length, is_video = pes_timestamp(packet)
        message = index // 7
        if stamp is not None:
            first = stamp if first is None else first
            clock = max(clock, (stamp - first) / 90000)
            if video_pid is None and is_video:
                video_pid = pid
            if pid in open_pes and origin is None:
                origin = open_pes[pid][0]  # the earlier PES of this pid completes now
            open_pes[pid] = [stamp, length, 0]
            if pid == video_pid:
                if frames:
                    frames[-1][2] = message
                frames.append([stamp, message, None])
        elif pid == video_pid and frames:
            frames[-1][1] = message
        if pid in open_pes:
            entry = open_pes[pid]
            entry[2] += 184
            if entry[1] is not None and entry[2] >= entry[1] + 6 and origin is None:
                origin = entry[0]
        if index % 7 == 0:
            times.append(clock)
    origin = origin if origin is not None else first
    messages = [data[i * 7 * 188:(i + 1) * 7 * 188] for i in range((len(packets) + 6) // 7)]
    return messages, times, [((stamp - origin) // 90, last, following) for stamp, last, following in frames if following]


def publish(srt, port, sign, path, seconds, sent, latency_ms=120):
    """Sends the file in real time, looped, for `seconds`; `sent[message]` = monotonic send time (first loop)."""
    sock = srt.connect(port, f"#!::r=stream/bench,m=publish,s={sign}", latency_ms)
    messages, times, _ = plan(path)
    start = time.monotonic()
    deadline = start + seconds
    loop = 0
    while time.monotonic() < deadline:
        base = start + loop * (times[-1] + 0.04)
        for index, message in enumerate(messages):
            wait = base + times[index] - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            if srt.lib.srt_sendmsg2(sock, message, len(message), None) < 0:
                return
            if loop == 0:
                sent[index] = time.monotonic()
            if time.monotonic() >= deadline:
                break
        loop += 1
    srt.lib.srt_close(sock)


def flv_viewer(port, seconds, arrivals, connected):
    """Reads /bench/live.flv, noting when each video tag (not a sequence header) arrives, by timestamp."""
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(b"GET /bench/live.flv HTTP/1.1\r\nHost: bench\r\n\r\n")
        connected.append(time.monotonic())
        connected.append(time.monotonic() + seconds)  # when it stops reading
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            buffer += conn.recv(65536)
        buffer = buffer.split(b"\r\n\r\n", 1)[1]
        deadline = time.monotonic() + seconds
        conn.settimeout(1)
        header_done = False
        while time.monotonic() < deadline:
            try:
                chunk = conn.recv(262144)
            except socket.timeout:
                continue
            if not chunk:
                break
            now = time.monotonic()
            buffer += chunk
            if not header_done:
                if len(buffer) < 13:
                    continue
                buffer, header_done = buffer[13:], True
            while len(buffer) >= 11:
                kind, size = buffer[0] & 0x1F, int.from_bytes(buffer[1:4], "big")
                if len(buffer) < 11 + size + 4:
                    break
                stamp = int.from_bytes(buffer[4:7], "big") | buffer[7] << 24
                if kind == 9 and size > 1 and buffer[12] != 0:  # AVC packet type 0 is the sequence header
                    arrivals.setdefault(stamp, now)
                buffer = buffer[11 + size + 4:]


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def latency(args):
    srt = SRT()
    sent = {}
    _, _, frames = plan(args.ts)
    publisher = threading.Thread(target=publish, args=(srt, args.srt_port, args.sign, args.ts, args.seconds, sent))
    publisher.start()
    time.sleep(2.5)  # live, with a GOP cached
    viewers, connected = [], []
    for _ in range(args.viewers):
        arrivals = {}
        thread = threading.Thread(target=flv_viewer, args=(args.http_port, args.seconds - 4, arrivals, connected))
        thread.start()
        viewers.append((thread, arrivals))
    publisher.join()
    added, demux_wait, unmatched = [], [], 0
    for thread, _ in viewers:
        thread.join()
    joined, leaving = max(connected[0::2]), min(connected[1::2])
    for thread, arrivals in viewers:
        for ms, last, following in frames:
            if last not in sent or following not in sent or not joined + 0.5 < sent[last] < leaving - 1:
                continue  # not sent, before the viewers joined (the GOP cache comes at once), or after they left
            arrived = next((arrivals[t] for t in (ms, ms - 1, ms + 1) if t in arrivals), None)
            if arrived is None:
                unmatched += 1
                continue
            added.append((arrived - sent[last]) * 1000)
            demux_wait.append((sent[following] - sent[last]) * 1000)
    if not added:
        sys.exit("srt_bench: no frame matched (is the stream live?)")
    print(f"frames {len(added)} unmatched {unmatched} viewers {args.viewers}")
    print("added latency ms p50 {:.1f} p95 {:.1f} p99 {:.1f}".format(*(percentile(added, q) for q in (0.5, 0.95, 0.99))))
    own = [value - args.srt_latency for value in added]
    print("less SRT's {} ms receive latency (TSBPD) ms p50 {:.1f} p95 {:.1f} p99 {:.1f}".format(
        args.srt_latency, *(percentile(own, q) for q in (0.5, 0.95, 0.99))))
    print("of which waiting for the next frame's start ms p50 {:.1f} p95 {:.1f}".format(
        percentile(demux_wait, 0.5), percentile(demux_wait, 0.95)))


def play(args):
    srt = SRT()
    sent = {}
    publisher = threading.Thread(target=publish, args=(srt, args.srt_port, args.sign, args.ts, args.seconds + 6, sent))
    publisher.start()
    time.sleep(2.5)
    epoll = srt.lib.srt_epoll_create()
    events = ctypes.c_int(SRT_EPOLL_IN | SRT_EPOLL_ERR)
    received = {}
    for _ in range(args.viewers):
        sock = srt.connect(args.srt_port, "#!::r=stream/bench,m=request", blocking=False)
        srt.lib.srt_epoll_add_usock(epoll, sock, ctypes.byref(events))
        received[sock] = 0
    print(f"READY {args.viewers}", flush=True)  # the driver samples the server's CPU from here
    ready = (ctypes.c_int * 2 * 1024)()
    scratch = ctypes.create_string_buffer(1500)
    start = time.monotonic()
    while time.monotonic() - start < args.seconds:
        count = srt.lib.srt_epoll_uwait(epoll, ready, 1024, 100)
        for index in range(max(count, 0)):
            sock = ready[index][0]
            while True:
                size = srt.lib.srt_recvmsg(sock, scratch, 1500)
                if size <= 0:
                    break
                received[sock] = received.get(sock, 0) + size
    elapsed = time.monotonic() - start
    publisher.join()
    rates = [8 * total / elapsed / 1e6 for total in received.values()]
    print("player Mbit/s min {:.2f} p50 {:.2f} max {:.2f}".format(min(rates), statistics.median(rates), max(rates)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["latency", "play"])
    parser.add_argument("--srt-port", type=int, required=True)
    parser.add_argument("--http-port", type=int, default=0)
    parser.add_argument("--sign", required=True)
    parser.add_argument("--ts", required=True)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--viewers", type=int, default=5)
    parser.add_argument("--srt-latency", type=int, default=120, help="the latency the handshake settles on, ms")
    args = parser.parse_args()
    latency(args) if args.mode == "latency" else play(args)


if __name__ == "__main__":
    main()
