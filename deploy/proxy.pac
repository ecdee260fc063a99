// Proxy auto-configuration for County workstations (serve as application/x-ns-proxy-autoconfig).
// County sites go direct; everything else through the DLP agents, with a second agent as
// fallback. No "DIRECT" fallback for external sites: if both agents are down, external traffic
// fails closed instead of bypassing inspection.
function FindProxyForURL(url, host) {
  if (isPlainHostName(host) ||
      dnsDomainIs(host, ".westchestergov.com") || host == "westchestergov.com" ||
      isInNet(host, "10.0.0.0", "255.0.0.0") ||
      isInNet(host, "127.0.0.0", "255.0.0.0")) {
    return "DIRECT";
  }
  return "PROXY dlp1.westchestergov.com:8080; PROXY dlp2.westchestergov.com:8080";
}
