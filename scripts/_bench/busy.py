"""Live flows with moving counters for the benchmark's busy table (scripts/_bench/targets.ts).

Run inside the benchmark's namespace: `python3 busy.py FLOWS SECONDS`. One UDP socket sends a
datagram to each of FLOWS loopback addresses (127.1.0.1 onwards, all local on `lo`) once a
second, to a port a second socket listens on, so every flow's conntrack entry stays alive and
its packet and byte counters move at every refresh. Bounded: it stops after SECONDS, and sends
nothing outside the namespace. Prints "ready" once the first round is sent.
"""

import socket
import sys
import time

PORT = 9


def main() -> None:
    flows = int(sys.argv[1])
    seconds = float(sys.argv[2])
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("0.0.0.0", PORT))
    sink.setblocking(False)
    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    addresses = []
    for i in range(flows):
        n = i + 1
        addresses.append(f"127.1.{(n >> 8) & 255}.{n & 255}")
    end = time.monotonic() + seconds
    first = True
    payload = b"x" * 64
    while time.monotonic() < end:
        start = time.monotonic()
        for a in addresses:
            out.sendto(payload, (a, PORT))
        # Drain what arrived; the sink only has to exist for the flows to be answered by nobody
        # but kept (UDP, unreplied, refreshed by each packet).
        try:
            while True:
                sink.recv(2048)
        except BlockingIOError:
            pass
        if first:
            print("ready", flush=True)
            first = False
        time.sleep(max(0.0, 1.0 - (time.monotonic() - start)))


if __name__ == "__main__":
    main()
