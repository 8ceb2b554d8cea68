#!/usr/bin/env python3
"""Instructions per delivered frame per viewer, by stage, from two demangled
`callgrind_annotate --inclusive=yes` listings of FanoutBench: a baseline run (setup only) and
a measured run. Each stage is the inclusive cost of the functions named, measured minus
baseline, divided by the deliveries (viewers x frames). A pattern matching several lines (a
thunk and the function it calls) counts once, at its largest."""
import argparse
import re

# (label, [patterns]); a stage's cost is the sum over its patterns of the largest match.
STAGES = [
    ("publish: serialize once, GOP cache, queue per loop", [r":StreamFanout\.publish\("]),
    ("delivery pass, all viewers", [r":LoopGroup\.deliverPending\(\) \[", r":LoopFlusher\.flush\(\) \[",
                                     r":LoopGroup\.writeWindow\(\) \["]),
    ("  window bytes joined once per loop (WindowBatch)", [r":WindowBatch\.bytes\("]),
    ("  NIO write: pipeline to pending writes", [r"protocol witness for _ChannelOutboundHandler\.write\(context:data:promise:\) in conformance HeadChannelHandler"]),
    ("  NIO flush: pending writes to the socket", [r"protocol witness for _ChannelOutboundHandler\.flush\(context:\) in conformance HeadChannelHandler"]),
    ("    of which write/writev system call wrappers", [r"linux/write\.c:write \[", r"linux/writev\.c:writev \["]),
    ("  Swift runtime: retain/release", [r"\?\?\?:swift_retain \[", r"\?\?\?:swift_release \["]),
    ("  Swift runtime: exclusivity checks", [r"\?\?\?:swift_beginAccess \["]),
    ("event loop (tasks, epoll, timers)", [r":SelectableEventLoop\.run\(\) \["]),
]

LINE = re.compile(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$")


def costs(path):
    total, lines = 0, []
    with open(path) as listing:
        for raw in listing:
            match = LINE.match(raw)
            if not match:
                continue
            count, name = int(match.group(1).replace(",", "")), match.group(2)
            if name.startswith("PROGRAM TOTALS"):
                total = count
            else:
                lines.append((count, name))
    return total, lines


def stage(lines, patterns):
    return sum(max((count for count, name in lines if re.search(p, name)), default=0) for p in patterns)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("baseline")
    parser.add_argument("measured")
    parser.add_argument("--deliveries", type=int, required=True)
    parser.add_argument("--format", default="flv")
    args = parser.parse_args()
    base_total, base = costs(args.baseline)
    total, measured = costs(args.measured)
    per = lambda n: n / max(1, args.deliveries)
    print(f"{args.format}: {per(total - base_total):,.0f} instructions per delivered frame per viewer "
          f"({total - base_total:,} over {args.deliveries:,} deliveries)")
    for label, patterns in STAGES:
        delta = stage(measured, patterns) - stage(base, patterns)
        print(f"  {label:<52} {per(delta):>8,.0f}")


if __name__ == "__main__":
    main()
