"""County DLP Agent: network-side DLP and usage monitoring for WC-P17-001."""

__version__ = "0.1.0"
