"""Passive monitor: connection records, usage and proxy-bypass events from a mirror port or pcap.

Pure parts (no I/O): ``tls``, ``dns``, ``http``, ``quic`` (first-bytes parsers), ``flows``
(flow table and per-connection reading of the first client bytes), ``names`` (IP -> name from
DNS answers), ``classify`` (catalogue + directory + proxies -> who/what/bypass), ``record``
(the connection record), ``communityid``, ``metrics`` (Prometheus, caller's registry) and
``monitor`` (frames in, records out).
I/O edges: ``pcapfile`` (pcap/pcapng reader) and ``live`` (capture from an interface); the
``dlp-agent sniff`` command in agent/commands/sniff.py wires them together.
"""
