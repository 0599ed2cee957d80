# A delay link between two tun devices, for the benchmark's `wan` suite (bench/tun-link.ts):
#
#   python3 tun-relay.py OUTER INNER DELAY_MS
#
# Creates the tun devices OUTER and INNER (not persistent: they vanish when this process exits),
# prints "ready", then forwards every packet read from one device to the other DELAY_MS later
# (so RTT = 2 x DELAY_MS), in both directions, in arrival order. The caller moves INNER into a
# network namespace and gives both devices addresses: both ends keep their real TCP stacks.
#
# stdin: a line holding a number sets the delay (ms) for packets read from then on, answered
# with "delay N"; end of input (the caller exited) ends the relay.
#
# Both devices are opened with IFF_VNET_HDR and TSO offloads, so the kernel hands over TCP
# segments of up to 64 KiB in one read (each still an MTU-1500 packet to TCP: MSS 1448) and
# python moves a few thousand packets a second instead of a hundred thousand.

import collections
import fcntl
import os
import select
import struct
import sys
import time

TUNSETIFF = 0x400454CA
TUNSETOFFLOAD = 0x400454D0
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000
TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6, TUN_F_TSO_ECN = 0x01, 0x02, 0x04, 0x08
# Packets read per device before the due ones are written again: keeps the delay honest
# while one direction is busy.
BATCH = 256
NICE = -10


def open_tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), flags))
    fcntl.ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN)
    return fd


def main(outer_name, inner_name, delay_ms):
    # A real link does not share the endpoints' CPUs; here it does, so let the relay run first
    # when it wakes (it needs a small share: well under half a core at 300 MiB/s).
    try:
        os.nice(NICE)
    except OSError:
        pass
    outer, inner = open_tun(outer_name), open_tun(inner_name)
    delay = float(delay_ms) / 1000
    # What was read from a device, waiting to be written to the other one. One delay for all
    # packets of a direction makes a FIFO enough: due times only grow, and after a change of
    # delay a later packet still waits behind an earlier one, so the order holds.
    queues = {outer: collections.deque(), inner: collections.deque()}
    peer = {outer: inner, inner: outer}
    poller = select.epoll()
    for fd in (outer, inner, 0):
        poller.register(fd, select.EPOLLIN)
    commands = b""
    print("ready", flush=True)
    while True:
        now = time.monotonic()
        timeout = -1
        for source, queue in queues.items():
            while queue and queue[0][0] <= now:
                try:
                    os.write(peer[source], queue.popleft()[1])
                except OSError:
                    pass  # the device is going away, or refused a packet: a loss on the link
            if queue and (timeout < 0 or queue[0][0] - now < timeout):
                timeout = queue[0][0] - now
        for fd, _ in poller.poll(timeout):
            if fd == 0:
                data = os.read(0, 4096)
                if not data:
                    return
                commands += data
                while b"\n" in commands:
                    line, commands = commands.split(b"\n", 1)
                    delay = float(line) / 1000
                    print("delay %s" % line.decode().strip(), flush=True)
                continue
            queue = queues[fd]
            due = time.monotonic() + delay
            for _ in range(BATCH):
                try:
                    queue.append((due, os.read(fd, 65536 + 64)))
                except BlockingIOError:
                    break


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: tun-relay.py OUTER INNER DELAY_MS")
    try:
        main(*sys.argv[1:])
    except KeyboardInterrupt:
        pass
