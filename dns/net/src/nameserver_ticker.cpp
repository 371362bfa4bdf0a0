#include "weft/dns_net/nameserver_ticker.hpp"

namespace weft::dns_net {

struct NameserverTicker::State : std::enable_shared_from_this<NameserverTicker::State> {
  State(boost::asio::io_context& io, dns::Nameserver& n) : timer(io), ns(n) {}
  void arm(TimePoint at) {
    timer.expires_at(at);
    timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->stopped) return;
      self->arm(self->ns.on_tick(Clock::now()));
    });
  }
  boost::asio::steady_timer timer;
  dns::Nameserver& ns;
  bool stopped = false;
};

NameserverTicker::NameserverTicker(boost::asio::io_context& io, dns::Nameserver& ns)
    : state_(std::make_shared<State>(io, ns)) {}

NameserverTicker::~NameserverTicker() { stop(); }

void NameserverTicker::start() {
  state_->stopped = false;
  state_->arm(state_->ns.on_tick(Clock::now()));
}

void NameserverTicker::stop() {
  state_->stopped = true;
  state_->timer.cancel();
}

}  // namespace weft::dns_net
