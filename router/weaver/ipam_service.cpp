#include "ipam_service.hpp"

#include <nlohmann/json.hpp>

#include "weft/ipam/ipam_store.hpp"

namespace weft::weaver {

class IpamService::Channel final : public mesh::GossipChannel {
 public:
  explicit Channel(IpamService& svc) : svc_(svc) {}
  std::vector<Bytes> full_state(TimePoint now) override { return svc_.alloc_->full_state(now); }
  Result<std::optional<Bytes>> on_gossip(TimePoint now, PeerName sender, ByteSpan payload,
                                         mesh::GossipSender& out) override {
    svc_.settle_soon();
    return svc_.alloc_->on_gossip(now, sender, payload, out);
  }
  Result<std::optional<Bytes>> on_broadcast(TimePoint now, PeerName src, ByteSpan payload,
                                            mesh::GossipSender& out) override {
    svc_.settle_soon();
    return svc_.alloc_->on_broadcast(now, src, payload, out);
  }
  Result<void> on_unicast(TimePoint now, PeerName src, ByteSpan payload, mesh::GossipSender& out) override {
    svc_.settle_soon();
    return svc_.alloc_->on_unicast(now, src, payload, out);
  }

 private:
  IpamService& svc_;
};

IpamService::IpamService(boost::asio::io_context& io, mesh_net::MeshNode& node, router::KvStore& store, Random& rng,
                         Logger log)
    : io_(io), node_(node), store_(store), rng_(rng), log_(std::move(log)), timer_(io), ranges_timer_(io) {}

IpamService::~IpamService() = default;

Result<void> IpamService::start(const IpamSection& flags, const mesh::PeerIdentity& self) {
  range_ = flags.range;
  default_subnet_ = flags.default_subnet;
  no_masq_local_ = flags.no_masq_local;
  ipam::AllocatorConfig cfg;
  cfg.self = self.name;
  cfg.uid = self.uid;
  cfg.nickname = self.nickname;
  cfg.universe = range_;
  cfg.init = flags.init;
  auto persisted = ipam::load_from(store_);
  if (!persisted) {
    return make_error("IPAM state in {} is unreadable ({}); run 'weave reset' to start afresh", store_.path(),
                      persisted.error().message);
  }
  cfg.persisted = std::move(*persisted);
  cfg.persist_now = [this] {
    if (!alloc_) return;
    if (auto r = ipam::persist_to(*alloc_, store_); !r) log_.error("persisting IPAM state: {}", r.error().message);
  };
  cfg.wall_seconds = [] {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  view_ = std::make_unique<ipam::MeshCoreView>(node_.core(),
                                               [this] { return node_.connection_maker().direct_peers().size(); });
  WEFT_TRY(alloc, ipam::Allocator::create(std::move(cfg), *view_, rng_, log_));
  alloc_ = std::move(alloc);
  channel_ = std::make_unique<Channel>(*this);
  node_.core().add_channel("IPallocation", *channel_);
  node_.on_topology_changed([this] {
    // Coalesced: at most one retry per turn of the io_context, however many changes it saw.
    if (routes_posted_) return;
    routes_posted_ = true;
    boost::asio::post(io_, [this] {
      routes_posted_ = false;
      if (!stopped_) run([this](TimePoint now, mesh::GossipSender& out) { alloc_->on_routes_changed(now, out); });
    });
  });
  node_.on_peers_gone([this](const std::vector<mesh::PeerSummary>& gone) {
    for (auto& p : gone) alloc_->peer_gone(p.name);
  });
  run([this](TimePoint now, mesh::GossipSender& out) { alloc_->start(now, out); });
  log_.info("IPAM on range {} (default subnet {})", range_, default_subnet_);
  if (on_owned_ranges_) watch_ranges();
  return {};
}

void IpamService::stop() {
  stopped_ = true;
  timer_.cancel();
  ranges_timer_.cancel();
}

void IpamService::run(const std::function<void(TimePoint, mesh::GossipSender&)>& f) {
  node_.with_effects([&](mesh::Effects& fx) {
    auto now = Clock::now();
    auto out = node_.core().sender("IPallocation", now, fx);
    f(now, *out);
  });
  // Group commit (issue 18, item 8): every operation of this turn of the event loop is
  // persisted with one journal sync, and answered only after it.
  settle_soon();
  rearm();
}

void IpamService::settle_soon() {
  if (settle_posted_) return;
  settle_posted_ = true;
  boost::asio::post(io_, [this] {
    settle_posted_ = false;
    if (!stopped_) settle();
  });
}

void IpamService::settle() {
  // NB: persist before answering: an address handed out must survive a kill -9 right after.
  bool persisted = true;
  if (auto r = ipam::persist_to(*alloc_, store_); !r) {
    persisted = false;
    log_.error("persisting IPAM state: {}", r.error().message);
  }
  for (auto& c : alloc_->take_completions()) {
    auto it = waiting_.find(c.id);
    if (it == waiting_.end()) continue;
    auto d = std::move(it->second);
    waiting_.erase(it);
    if (!persisted) {
      // Not durable: not acknowledged either (the client retries; allocation is idempotent).
      d->resolve(http::text_response(500, "unable to persist IPAM state; try again"));
    } else if (c.cancelled) {
      d->resolve(http::text_response(200, "cancelled"));
    } else if (c.error) {
      d->resolve(http::text_response(400, c.kind == ipam::OpKind::claim ? "Unable to claim: " + c.error->message
                                                                        : c.error->message));
    } else if (c.kind == ipam::OpKind::allocate && c.address) {
      d->resolve(http::text_response(200, c.address->str()));
    } else if (c.kind == ipam::OpKind::claim) {
      d->resolve(http::empty_response(204));
    } else {
      d->resolve(http::empty_response(200));
    }
  }
  if (on_owned_ranges_) on_owned_ranges_(alloc_->ring().owned_ranges());
}

http::HttpResponse IpamService::submit(const std::function<ipam::RequestId(TimePoint, mesh::GossipSender&)>& f) {
  auto d = std::make_shared<http::Deferred>();
  // NB: registered before run() drains completions, so an operation that completes at once is
  // answered too (the Deferred keeps the answer until the server binds the connection).
  run([&](TimePoint now, mesh::GossipSender& out) { waiting_[f(now, out)] = d; });
  return http::deferred_response(d);
}

void IpamService::rearm() {
  if (stopped_) return;
  timer_.expires_at(alloc_->next_wake());
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    run([this](TimePoint now, mesh::GossipSender& out) { alloc_->on_tick(now, out); });
  });
}

void IpamService::watch_ranges() {
  ranges_timer_.expires_after(std::chrono::seconds(1));
  ranges_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    on_owned_ranges_(alloc_->ring().owned_ranges());
    watch_ranges();
  });
}

void IpamService::container_event(const std::string& action, const std::string& id) {
  if (action == "die") {
    run([&](TimePoint now, mesh::GossipSender&) { alloc_->container_died(now, id); });
  } else if (action == "destroy") {
    run([&](TimePoint, mesh::GossipSender&) { alloc_->container_destroyed(id); });
  } else if (action == "start") {
    run([&](TimePoint, mesh::GossipSender&) { alloc_->container_started(id); });
  }
}

void IpamService::add_routes(http::Router& r) {
  auto alloc = [this](const http::HttpRequest& req, std::string id, Cidr subnet) {
    bool container = req.form_value("check-alive") == "true";
    return submit([&](TimePoint now, mesh::GossipSender& out) { return alloc_->allocate(now, id, subnet, container, out); });
  };
  r.handle("POST", "/ip/{id}", [this, alloc](const http::HttpRequest& req, const http::PathVars& v) {
    return alloc(req, v.at("id"), default_subnet_);
  });
  r.handle("POST", "/ip/{id}/{net}/{len}", [alloc](const http::HttpRequest& req, const http::PathVars& v) {
    auto subnet = ipam::parse_cidr_subnet(v.at("net") + "/" + v.at("len"));
    if (!subnet) return http::text_response(400, subnet.error().message);
    return alloc(req, v.at("id"), *subnet);
  });
  r.handle("PUT", "/ip/{id}/{ip}/{len}", [this](const http::HttpRequest& req, const http::PathVars& v) {
    auto cidr = Cidr::parse(v.at("ip") + "/" + v.at("len"));
    if (!cidr) return http::text_response(400, fmt::format("invalid CIDR: {}/{}", v.at("ip"), v.at("len")));
    bool container = req.form_value("check-alive") == "true";
    bool no_error = req.form_value("noErrorOnUnknown") == "true";
    return submit([&](TimePoint now, mesh::GossipSender& out) {
      return alloc_->claim(now, v.at("id"), *cidr, container, no_error, out);
    });
  });
  auto lookup = [this](const std::string& id, const Cidr& subnet) {
    std::string out;
    for (auto& c : alloc_->lookup(id, ipam::host_range(subnet))) out += (out.empty() ? "" : " ") + c.str();
    return http::text_response(200, out);
  };
  r.handle("GET", "/ip/{id}", [this, lookup](auto&, const http::PathVars& v) { return lookup(v.at("id"), default_subnet_); });
  r.handle("GET", "/ip/{id}/{net}/{len}", [lookup](auto&, const http::PathVars& v) {
    auto subnet = ipam::parse_cidr_subnet(v.at("net") + "/" + v.at("len"));
    if (!subnet) return http::text_response(400, subnet.error().message);
    return lookup(v.at("id"), *subnet);
  });
  r.handle("GET", "/ip", [this](auto&, auto&) {
    nlohmann::ordered_json owned = nullptr;
    for (auto& [id, d] : alloc_->owned()) {
      if (owned.is_null()) owned = nlohmann::ordered_json::array();
      nlohmann::ordered_json addrs = nlohmann::ordered_json::array();
      for (auto& c : d.cidrs) addrs.push_back(c.str());
      owned.push_back({{"containerid", id}, {"addrs", addrs}});
    }
    return http::json_response(nlohmann::ordered_json{{"owned", owned}}.dump() + "\n");
  });
  r.handle("DELETE", "/ip/{id}/{ip}", [this](auto&, const http::PathVars& v) {
    auto ip = Ipv4::parse(v.at("ip"));
    if (!ip) return http::text_response(400, fmt::format("invalid IP Address: {}", v.at("ip")));
    Result<void> res;
    run([&](TimePoint, mesh::GossipSender&) { res = alloc_->free(v.at("id"), *ip); });
    settle();  // answered at once: durable first
    if (!res) return http::text_response(400, "Unable to free: " + res.error().message);
    return http::empty_response(204);
  });
  r.handle("DELETE", "/ip/{id}", [this](auto&, const http::PathVars& v) {
    Result<void> res;
    run([&](TimePoint, mesh::GossipSender&) { res = alloc_->remove(v.at("id")); });
    settle();  // answered at once: durable first
    if (!res) return http::text_response(400, res.error().message);
    return http::empty_response(204);
  });
  r.handle("GET", "/ring", [this](auto&, auto&) {
    return submit([&](TimePoint now, mesh::GossipSender& out) { return alloc_->prime(now, out); });
  });
  r.handle("DELETE", "/peer", [this](auto&, auto&) {
    run([&](TimePoint now, mesh::GossipSender& out) { alloc_->shutdown(now, out); });
    settle();  // answered at once: durable first
    return http::empty_response(204);
  });
  r.handle("DELETE", "/peer/{id}", [this](auto&, const http::PathVars& v) {
    std::uint64_t n = 0;
    run([&](TimePoint now, mesh::GossipSender& out) { n = alloc_->admin_takeover(now, v.at("id"), out); });
    settle();  // answered at once: durable first
    return http::text_response(200, ipam::format_takeover(n, v.at("id")));
  });
  r.handle("GET", "/ipinfo/defaultsubnet", [this](auto&, auto&) { return http::text_response(200, default_subnet_.str()); });
  r.handle("GET", "/ipinfo/tracker", [this](auto&, auto&) {
    return http::text_response(200, no_masq_local_ ? "no-masq-local\n" : "\n");
  });
}

}  // namespace weft::weaver
