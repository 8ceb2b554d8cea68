#!/usr/bin/env python3
"""Sorts a `perf report --children --sort sym` listing of the server's core into stages
(inclusive shares of all samples on the core), and prints the user/kernel split by DSO."""
import re
import sys

# (label, symbols whose inclusive share is the stage's; the largest match counts)
STAGES = [
    ("write/writev system calls (send side of TCP, copy in)", [r"__x64_sys_writev?$", r"ksys_write$", r"do_writev$"]),
    ("  tcp_sendmsg (segmenting, copying the bytes)", [r"tcp_sendmsg$"]),
    ("  copy from user memory", [r"_copy_from_iter$", r"copy_user_enhanced_fast_string$", r"copy_user_generic_string$", r"rep_movs_alternative$"]),
    ("loopback receive in softirq (the viewers' TCP receive path)", [r"net_rx_action$", r"__do_softirq$", r"do_softirq$"]),
    ("  tcp_v4_rcv", [r"tcp_v4_rcv$"]),
    ("read system calls (publisher's bytes, requests)", [r"__x64_sys_read$", r"ksys_read$"]),
    ("epoll_wait", [r"__x64_sys_epoll_wait$", r"do_epoll_wait$"]),
    ("idle", [r"cpuidle_enter", r"do_idle$", r"default_idle"]),
]
LINE = re.compile(r"^\s+([\d.]+)%\s+([\d.]+)%\s+\[([.k])\]\s+(.*?)\s*$")


def main():
    children, dso = sys.argv[1], sys.argv[2]
    rows = []
    with open(children) as listing:
        for raw in listing:
            match = LINE.match(raw)
            if match:
                rows.append((float(match.group(1)), match.group(4)))
    for label, patterns in STAGES:
        share = max((value for value, name in rows for p in patterns if re.search(p, name)), default=0.0)
        print(f"  {label:<62} {share:5.1f} %")
    print("  by DSO (self time):")
    with open(dso) as listing:
        for raw in listing:
            match = re.match(r"^\s+([\d.]+)%\s+(\S.*?)\s*$", raw)
            if match and float(match.group(1)) >= 1:
                print(f"    {match.group(2):<40} {match.group(1):>6} %")


if __name__ == "__main__":
    main()
