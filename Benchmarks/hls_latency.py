#!/usr/bin/env python3
"""HLS latency benchmark client (loopback only; every loop bounded in count and time).

  hls_latency.py latency --flv URL --llhls URL --hls URL [--nginx-hls URL] --seconds N
      Reads the stream's HTTP-FLV to clock when each video frame reached ingest (fan-out adds
      ~0.3 ms), follows the LL-HLS video playlist with blocking reloads, and polls classic HLS
      playlists every 5 ms. Reports, per part: time from its last frame's arrival to the part
      being listed; the latency of a client downloading each part as soon as it is listed
      (oldest frame in the part, arrival → downloaded); per classic segment: time from the
      frame that closed it to its listing.

  hls_latency.py clients --llhls URL --clients N --seconds S
      N concurrent LL-HLS clients each doing blocking reloads for the next part and fetching it;
      reports requests served and how late (after the first client) each client got each part.
"""
import argparse, asyncio, struct, threading, time, urllib.request


def percentile(values, q):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(name, values_ms):
    if not values_ms:
        return f"{name}: no samples"
    return (f"{name}: n={len(values_ms)} p50={percentile(values_ms, .5):.1f} ms p95={percentile(values_ms, .95):.1f} ms "
            f"max={max(values_ms):.1f} ms")


class FLVClock(threading.Thread):
    """Arrival time (monotonic seconds) of each video tag, by its FLV timestamp in ms."""

    def __init__(self, url, seconds):
        super().__init__(daemon=True)
        self.url, self.deadline, self.arrivals, self.keyframes = url, time.monotonic() + seconds, {}, []

    def run(self):
        with urllib.request.urlopen(self.url, timeout=10) as response:
            response.read(13)
            while time.monotonic() < self.deadline:
                header = response.read(11)
                if len(header) < 11:
                    return
                size = int.from_bytes(header[1:4], "big")
                timestamp = int.from_bytes(header[4:7], "big") | header[7] << 24
                body = response.read(size + 4)
                if header[0] & 0x1F == 9 and len(body) > 1 and body[1] == 1:
                    now = time.monotonic()
                    self.arrivals.setdefault(timestamp, now)
                    if body[0] >> 4 == 1:
                        self.keyframes.append(now)

    def arrival(self, ms):
        for delta in (0, -1, 1, -2, 2):
            if ms + delta in self.arrivals:
                return self.arrivals[ms + delta]
        return None


def fetch(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def fragment_times(data):
    """(first dts, last dts) in ms of a moof/mdat fragment, from tfdt and trun (90 kHz)."""
    offset, base, durations = 0, None, []
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if kind in (b"moof", b"traf"):
            offset += 8
            continue
        body = data[offset + 8:offset + size]
        if kind == b"tfdt":
            base = struct.unpack(">Q", body[4:12])[0] if body[0] == 1 else struct.unpack(">I", body[4:8])[0]
        elif kind == b"trun":
            count, flags = struct.unpack(">I", body[4:8])[0], int.from_bytes(body[1:4], "big")
            at = 8 + (4 if flags & 1 else 0) + (4 if flags & 4 else 0)
            step = sum(4 for bit in (0x100, 0x200, 0x400, 0x800) if flags & bit)
            for index in range(count):
                durations.append(struct.unpack(">I", body[at + index * step:at + index * step + 4])[0])
        offset += size
    last = base + sum(durations[:-1])
    return base / 90, last / 90


def parse_playlist(text):
    segments, parts, sequence = {}, [], 0
    for line in text.splitlines():
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            sequence = int(line.split(":")[1])
        elif line.startswith("#EXT-X-SKIP:"):
            sequence += int(line.split("=")[1])
        elif line.startswith("#EXT-X-PART:"):
            uri = line.split('URI="')[1].split('"')[0]
            parts.append((sequence, len([p for p in parts if p[0] == sequence]), uri))
        elif line and not line.startswith("#"):
            segments[sequence] = line
            sequence += 1
    return segments, parts, sequence


def base_of(url):
    return url.rsplit("/", 1)[0] + "/"


def follow_llhls(url, seconds, clock, results):
    base, deadline = base_of(url), time.monotonic() + seconds
    _, parts, _ = parse_playlist(fetch(url).decode())
    msn, index = parts[-1][0], parts[-1][1] + 1
    seen = {(p[0], p[1]) for p in parts}
    while time.monotonic() < deadline:
        text = fetch(f"{url}?_HLS_msn={msn}&_HLS_part={index}").decode()
        listed = time.monotonic()
        _, parts, _ = parse_playlist(text)
        for sequence, number, uri in parts:
            if (sequence, number) in seen:
                continue
            seen.add((sequence, number))
            data = fetch(base + uri)
            downloaded = time.monotonic()
            first_ms, last_ms = fragment_times(data)
            last_arrival, first_arrival = clock.arrival(round(last_ms)), clock.arrival(round(first_ms))
            if last_arrival:
                results["part listed after its last frame"].append((listed - last_arrival) * 1000)
            if first_arrival:
                results["oldest frame of a part, arrival to downloaded"].append((downloaded - first_arrival) * 1000)
            msn, index = sequence, number + 1


def poll_classic(url, seconds, clock, results, name):
    """Both servers cut segments at keyframes (the stream has one every 2 s, the segment target),
    so the frame that closed a segment is the newest keyframe that arrived before it was listed."""
    deadline, known = time.monotonic() + seconds, None
    while time.monotonic() < deadline:
        try:
            segments, _, _ = parse_playlist(fetch(url, timeout=2).decode())
        except Exception:
            time.sleep(0.05)
            continue
        now = time.monotonic()
        fresh = set(segments.values()) - (known or set())
        if known is not None:  # segments listed before we looked have no listing time
            for _ in fresh:
                closing = max((t for t in clock.keyframes if t <= now), default=None)
                if closing is not None:
                    results[name].append((now - closing) * 1000)
        known = (known or set()) | fresh
        time.sleep(0.005)


def latency(args):
    clock = FLVClock(args.flv, args.seconds + 5)
    clock.start()
    time.sleep(2)
    results = {"part listed after its last frame": [], "oldest frame of a part, arrival to downloaded": [],
               "sluice HLS segment listed after the frame that closed it": [],
               "nginx-rtmp HLS segment listed after the frame that closed it": []}
    threads = [threading.Thread(target=follow_llhls, args=(args.llhls, args.seconds, clock, results)),
               threading.Thread(target=poll_classic, args=(args.hls, args.seconds, clock, results,
                                                           "sluice HLS segment listed after the frame that closed it"))]
    if args.nginx_hls:
        threads.append(threading.Thread(target=poll_classic, args=(args.nginx_hls, args.seconds, clock, results,
                                                                   "nginx-rtmp HLS segment listed after the frame that closed it")))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(args.seconds + 30)
    for name, values in results.items():
        print(summary(name, values))


async def client(host, port, path, deadline, record):
    reader, writer = await asyncio.open_connection(host, port)

    async def get(target):
        writer.write(f"GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
        return head.split(b" ")[1], await reader.readexactly(length)

    base = path.rsplit("/", 1)[0] + "/"
    _, body = await get(path)
    _, parts, _ = parse_playlist(body.decode())
    msn, index = parts[-1][0], parts[-1][1] + 1
    while time.monotonic() < deadline:
        status, body = await get(f"{path}?_HLS_msn={msn}&_HLS_part={index}")
        if status != b"200":
            await asyncio.sleep(0.1)
            continue
        record(msn, index, time.monotonic())
        _, parts, _ = parse_playlist(body.decode())
        newest = [p for p in parts if (p[0], p[1]) >= (msn, index)]
        for sequence, number, uri in newest:
            await get(base + uri)
            msn, index = sequence, number + 1
    writer.close()


async def many_clients(args):
    host, rest = args.llhls.split("//")[1].split(":", 1)
    port, path = rest.split("/", 1)
    deadline = time.monotonic() + args.seconds
    answered = {}

    def record(msn, index, at):
        answered.setdefault((msn, index), []).append(at)

    results = await asyncio.gather(*(client(host, int(port), "/" + path, deadline, record) for _ in range(args.clients)),
                                   return_exceptions=True)
    failures = [r for r in results if isinstance(r, Exception)]
    spreads = [(max(times) - min(times)) * 1000 for times in answered.values() if len(times) > args.clients // 2]
    requests = sum(len(times) for times in answered.values())
    print(f"clients={args.clients} failed={len(failures)} blocking answers={requests} "
          f"({requests / args.seconds:.0f}/s, plus as many part downloads) "
          + summary("last client answered after the first", spreads))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["latency", "clients"])
    parser.add_argument("--flv"), parser.add_argument("--llhls"), parser.add_argument("--hls")
    parser.add_argument("--nginx-hls"), parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    if args.mode == "latency":
        latency(args)
    else:
        asyncio.run(many_clients(args))


main()
