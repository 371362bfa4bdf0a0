#pragma once
// Drives the Nameserver's timers (the 30-minute tombstone sweep) from a steady_timer on the
// io_context thread: calls Nameserver::on_tick and re-arms at the time it returns.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "weft/dns/nameserver.hpp"

namespace weft::dns_net {

class NameserverTicker {
 public:
  /// `ns` must outlive start()..stop().
  NameserverTicker(boost::asio::io_context& io, dns::Nameserver& ns);
  ~NameserverTicker();
  NameserverTicker(const NameserverTicker&) = delete;
  NameserverTicker& operator=(const NameserverTicker&) = delete;
  void start();
  void stop();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace weft::dns_net
