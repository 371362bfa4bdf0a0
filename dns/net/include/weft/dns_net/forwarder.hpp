#pragma once
// Forwards queries weaveDNS does not answer to the upstream resolvers (spec §7.2): servers are
// tried in order, each with a fresh random ID and the fallback timeout; the first reply that is a
// response to our question wins; when every server fails the client gets SERVFAIL.
// Over UDP a truncated reply is retried over TCP with the same server when the client can take
// more than 512 bytes (EDNS0); a query that came over TCP goes upstream over TCP.
// Memory is bounded: at most `max_in_flight` exchanges, each with one socket and one buffer.
//
// Callback-style Asio on the io_context thread; every handler holds the exchange alive.
#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <functional>
#include <memory>

#include "weft/base/bytes.hpp"
#include "weft/base/clock.hpp"
#include "weft/base/logger.hpp"
#include "weft/base/random.hpp"
#include "weft/dns/message.hpp"

namespace weft::dns_net {

class Upstreams;

struct ForwarderConfig {
  Duration timeout = std::chrono::seconds(5);  ///< per server (--dns-fallback-timeout)
  std::size_t max_in_flight = 512;
};

struct ForwarderStats {
  std::uint64_t forwarded = 0;         ///< exchanges started
  std::uint64_t answered = 0;          ///< an upstream replied
  std::uint64_t failed = 0;            ///< every upstream failed: SERVFAIL
  std::uint64_t tcp_retries = 0;       ///< truncated UDP replies retried over TCP
  std::uint64_t rejected_replies = 0;  ///< wrong ID, wrong question, malformed
};

class Forwarder {
 public:
  /// Called once with the reply for the client (the upstream's, under the client's ID and fitted
  /// to its size, or SERVFAIL), on the io thread, never from inside forward(). Never called
  /// after stop().
  using Done = std::function<void(Bytes reply)>;

  Forwarder(boost::asio::io_context& io, Upstreams& upstreams, Random& rng, ForwarderConfig config, Logger log);
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  /// Starts an exchange for `query` (copied). False if `max_in_flight` are already running: the
  /// caller answers SERVFAIL itself.
  bool forward(ByteSpan query, const dns::QueryInfo& info, Done done);
  /// Abandons every exchange; their Done callbacks are dropped.
  void stop();
  std::size_t in_flight() const;
  const ForwarderStats& stats() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace weft::dns_net
