#pragma once
// weaveDNS's listener (spec §7.2): UDP and TCP on --dns-listen-address, answers from the pure
// Responder, everything else through the Forwarder. Callback-style Asio on the daemon's single
// io_context thread, the thread that owns the Nameserver it reads.
//
// Bound to 0.0.0.0 (or ::), UDP replies leave from the address each query was sent to
// (IP_PKTINFO), so clients on any of the host's addresses accept them.
//
// Robustness: malformed input never reaches more than the responder (which never throws); UDP
// replies are sent non-blocking and dropped when the socket buffer is full; TCP connections are
// capped, idle ones closed, and each has a bounded number of queries in flight; forwarded queries
// are capped by the Forwarder. No per-packet logging: counters are in stats().
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "weft/base/logger.hpp"
#include "weft/base/random.hpp"
#include "weft/base/result.hpp"
#include "weft/dns/nameserver.hpp"
#include "weft/dns/responder.hpp"
#include "weft/dns_net/forwarder.hpp"

namespace weft::dns_net {

struct DnsServerConfig {
  std::string listen_address = "0.0.0.0:53";     ///< --dns-listen-address; port 0 = pick one (tests)
  dns::ResponderConfig responder;                ///< --dns-domain, --dns-ttl
  std::string resolv_conf = "/etc/resolv.conf";  ///< --resolv-conf
  /// Our address as clients see it, left out of the upstreams (Weave's effective listen
  /// address); "" = the listen host unless that is 0.0.0.0/::.
  std::string effective_address;
  Duration fallback_timeout = std::chrono::seconds(5);  ///< --dns-fallback-timeout
  /// The port of the resolv.conf servers: always 53, except in tests that run a fake upstream.
  std::uint16_t upstream_port = 53;
  std::size_t max_forwarded = 512;
  std::size_t max_tcp_connections = 128;
  /// TCP connections from one source address (issue 18, item 6: 128 idle connections from one
  /// host blocked every TCP query).
  std::size_t max_tcp_per_source = 8;
  Duration tcp_idle_timeout = std::chrono::seconds(2);
  /// Which sources may have names outside the weave domain forwarded upstream (null = any).
  /// Others get REFUSED for those names, so weaveDNS is no open resolver.
  std::function<bool(const boost::asio::ip::address&)> allow_recursion;
  std::size_t max_tcp_pipelined = 16;  ///< queries in flight per TCP connection
};

struct DnsServerStats {
  std::uint64_t udp_queries = 0;
  std::uint64_t tcp_queries = 0;
  std::uint64_t answered = 0;  ///< answered locally (incl. FORMERR/NXDOMAIN)
  std::uint64_t forwarded = 0;
  std::uint64_t dropped = 0;      ///< not worth a reply (short, or a response)
  std::uint64_t overloaded = 0;   ///< SERVFAIL because the forwarder was full
  std::uint64_t send_errors = 0;  ///< UDP replies the kernel would not take
  std::uint64_t tcp_refused = 0;  ///< connections closed at the cap (total or per source)
  std::uint64_t refused_recursion = 0;  ///< REFUSED: a non-weave name from a source not allowed to recurse
};

/// "host:port" -> endpoint parts; host may be empty (all addresses) or a bracketed IPv6.
Result<boost::asio::ip::udp::endpoint> parse_listen_address(const std::string& s);

class DnsServer {
 public:
  /// `names` (the Nameserver) and `rng` must outlive the server's start()..stop().
  DnsServer(boost::asio::io_context& io, DnsServerConfig config, const dns::NameLookup& names, Random& rng, Logger log);
  ~DnsServer();
  DnsServer(const DnsServer&) = delete;
  DnsServer& operator=(const DnsServer&) = delete;

  /// Binds UDP and TCP on the same port and starts serving. Errors read like Go's
  /// ("listen udp 0.0.0.0:53: bind: address already in use").
  Result<void> start();
  /// Closes the sockets and abandons forwarded queries; safe to call twice.
  void stop();

  boost::asio::ip::udp::endpoint udp_endpoint() const;
  boost::asio::ip::tcp::endpoint tcp_endpoint() const;
  /// /dns-address-port ("192.168.77.1:53") and /dns-address ("192.168.77.1"): as configured,
  /// with the bound port.
  std::string address() const;
  std::string host() const;
  /// The upstream servers now in use (/report DNS.Upstream).
  std::vector<std::string> upstreams();
  const dns::ResponderConfig& responder_config() const;
  DnsServerStats stats() const;
  const ForwarderStats& forwarder_stats() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace weft::dns_net
