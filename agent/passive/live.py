"""Live capture from a network interface (Linux AF_PACKET), handing out raw frames in batches.

Frames stay bytes: nothing is dissected here (scapy's ``sniff(prn=...)`` dissects every packet
and manages ~2k packets/s). The socket is a plain AF_PACKET socket rather than scapy's
``L2ListenSocket`` because the monitor needs the packet type: on the loopback interface the
kernel shows every packet twice (outgoing, then incoming) and the outgoing copy must be
dropped there, which ``recv_raw`` does not expose. scapy still does what it is good at:
compiling the BPF filter (libpcap) and switching promiscuous mode.

VLAN tags stripped by the NIC are put back from PACKET_AUXDATA, so tagged traffic on a mirror
port looks the same live as in a pcap. Kernel drops are read from PACKET_STATISTICS.
"""

from __future__ import annotations

import errno
import select
import socket
import struct
import sys
import time
from collections.abc import Callable, Iterator

from agent.passive.monitor import LINKTYPE_ETHERNET, LINKTYPE_RAW

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_AUXDATA = 8
PACKET_STATISTICS = 6
PACKET_OUTGOING = 4
SO_TIMESTAMPNS = 35
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40
ARPHRD_ETHER, ARPHRD_LOOPBACK, ARPHRD_NONE, ARPHRD_PPP = 1, 772, 0xFFFE, 512
MAX_FRAME = 262144          # GRO/GSO on the capture host can deliver frames above the MTU
_AUX = struct.Struct("IIIHHHH")  # struct tpacket_auxdata
_ANC_SIZE = socket.CMSG_SPACE(_AUX.size) + socket.CMSG_SPACE(16)
_TIMESTAMP = (socket.SOL_SOCKET, SO_TIMESTAMPNS)
_AUXDATA = (SOL_PACKET, PACKET_AUXDATA)


class CaptureUnavailable(Exception):
    """Live capture cannot start; the message tells the operator what to do."""


class LiveCapture:
    def __init__(self, iface: str, bpf: str | None = None, *, promisc: bool = True,
                 rcvbuf: int = 8 << 20):
        if not sys.platform.startswith("linux"):
            raise CaptureUnavailable("live capture is supported on Linux only; "
                                     "capture with tcpdump and use --pcap")
        try:
            socket.if_nametoindex(iface)
        except OSError:
            names = ", ".join(n for _, n in socket.if_nameindex())
            raise CaptureUnavailable(f"no network interface {iface!r} (available: {names})"
                                     ) from None
        try:
            # Protocol 0: nothing is queued until bind(), which comes after the filter is
            # attached; otherwise packets of every interface slip in unfiltered meanwhile.
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        except PermissionError:
            raise CaptureUnavailable(
                f"capturing on {iface} needs the CAP_NET_RAW capability: run as root, or grant "
                "it with `setcap cap_net_raw,cap_net_admin=eip <python>`; or read a capture "
                "file with --pcap") from None
        self.iface = iface
        try:
            if bpf:
                from scapy.arch.linux import attach_filter
                from scapy.error import Scapy_Exception

                try:
                    attach_filter(self.sock, bpf, iface)
                except (Scapy_Exception, ImportError, OSError) as e:
                    raise CaptureUnavailable(f"cannot use BPF filter {bpf!r}: {e}") from None
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.sock.bind((iface, ETH_P_ALL))         # capture starts here, filtered
            self.sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
            self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            self.promisc = False
            if promisc:
                from scapy.arch.linux import set_promisc

                try:
                    set_promisc(self.sock, iface, 1)
                    self.promisc = True
                except OSError as e:
                    if e.errno != errno.EPERM:
                        raise
            hatype = self.sock.getsockname()[3]
        except OSError as e:
            self.sock.close()
            raise CaptureUnavailable(f"cannot capture on {iface}: {e.strerror or e}") from None
        except CaptureUnavailable:
            self.sock.close()
            raise
        self.loopback = hatype == ARPHRD_LOOPBACK
        self.linktype = LINKTYPE_RAW if hatype in (ARPHRD_NONE, ARPHRD_PPP) else LINKTYPE_ETHERNET
        self._buf = bytearray(MAX_FRAME)
        self.drops = 0
        self.truncated = 0

    def close(self) -> None:
        if self.sock.fileno() >= 0:
            if self.promisc:
                from scapy.arch.linux import set_promisc

                try:
                    set_promisc(self.sock, self.iface, 0)
                except OSError:
                    pass  # the interface may be gone; the socket closing drops membership anyway
            self.sock.close()

    def __enter__(self) -> LiveCapture:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read_drops(self) -> int:
        """Packets the kernel dropped since the capture started (socket buffer overruns)."""
        try:
            stats = self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
        except OSError:
            return self.drops
        _packets, drops = struct.unpack("II", stats)     # the kernel resets them on read
        self.drops += drops
        return self.drops

    def batches(self, stopped: Callable[[], bool], *, max_batch: int = 512,
                poll: float = 0.25) -> Iterator[tuple[int, list[tuple[float, bytes]]]]:
        """Yield ``(linktype, batch)`` until ``stopped()``; an empty batch every ``poll``
        seconds of silence lets the caller end idle connections."""
        fd = self.sock.fileno()
        buf = self._buf
        view = memoryview(buf)
        recv = self.sock.recvmsg_into
        lt = self.linktype
        loopback = self.loopback
        while not stopped():
            ready, _, _ = select.select([fd], [], [], poll)
            batch: list[tuple[float, bytes]] = []
            if ready:
                for _ in range(max_batch):
                    try:
                        n, anc, flags, addr = recv([buf], _ANC_SIZE, socket.MSG_DONTWAIT)
                    except (BlockingIOError, InterruptedError):
                        break
                    if loopback and addr[2] == PACKET_OUTGOING:
                        continue
                    if flags & socket.MSG_TRUNC:
                        self.truncated += 1
                    ts = 0.0
                    frame = bytes(view[:n])
                    for level, kind, cdata in anc:
                        what = (level, kind)
                        if what == _TIMESTAMP and len(cdata) >= 16:
                            sec, nsec = struct.unpack_from("qq", cdata)
                            ts = sec + nsec * 1e-9
                        elif what == _AUXDATA and len(cdata) >= _AUX.size:
                            status, _l, _s, _mac, _net, tci, tpid = _AUX.unpack_from(cdata)
                            if lt == LINKTYPE_ETHERNET and (tci or status & TP_STATUS_VLAN_VALID):
                                if not status & TP_STATUS_VLAN_TPID_VALID:
                                    tpid = 0x8100
                                frame = frame[:12] + struct.pack("!HH", tpid, tci) + frame[12:]
                    batch.append((ts or time.time(), frame))
            yield lt, batch
