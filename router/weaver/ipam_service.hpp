#pragma once
// The IPAM shell of weaver: owns the Allocator (channel "IPallocation"), its timer, its
// persistence in the state file, and the HTTP routes of spec §10 (/ip*, /ring, /peer*,
// /ipinfo*). Requests that must wait (consensus, donations) are answered through
// http::Deferred when the allocator completes them.
#include <boost/asio.hpp>
#include <map>
#include <memory>
#include <optional>

#include "weaver_config.hpp"
#include "weft/base/logger.hpp"
#include "weft/http/response.hpp"
#include "weft/http/router.hpp"
#include "weft/ipam/allocator.hpp"
#include "weft/ipam/mesh_view.hpp"
#include "weft/ipam/status.hpp"
#include "weft/mesh_net/mesh_node.hpp"
#include "weft/router/kv_store.hpp"

namespace weft::weaver {

class IpamService {
 public:
  IpamService(boost::asio::io_context& io, mesh_net::MeshNode& node, router::KvStore& store, Random& rng, Logger log);
  ~IpamService();
  /// Takes the checked IPAM flags and the persisted state; registers the channel.
  Result<void> start(const IpamSection& cfg, const mesh::PeerIdentity& self);
  void stop();
  void add_routes(http::Router& r);
  /// Docker told weaver about a container (spec §6.5): "die" frees its addresses after 30 s
  /// unless it starts again, "destroy" frees them now, "start" cancels a pending free.
  void container_event(const std::string& action, const std::string& id);
  ipam::IpamStatus status() const { return alloc_->status(default_subnet_); }
  const Cidr& default_subnet() const { return default_subnet_; }
  const Cidr& range() const { return range_; }
  /// When the allocator's periodic tick runs next.
  TimePoint next_tick() const { return alloc_->next_wake(); }
  /// Called with this peer's ring ranges after every local IPAM step and once a second (gossip
  /// changes them too); --no-masq-local keeps its ipset with them. Set before start().
  void on_owned_ranges(std::function<void(const std::vector<Ipv4Range>&)> f) { on_owned_ranges_ = std::move(f); }

 private:
  /// Runs `f` with a sender, re-arms the timer, and settles at the end of this turn of the
  /// event loop (group commit: one sync for every operation of the turn).
  void run(const std::function<void(TimePoint, mesh::GossipSender&)>& f);
  /// Persists what the allocator changed and answers what it completed.
  void settle();
  /// Gossip reached the allocator (through the mesh core, not through run()): settle as soon as
  /// the current message is done, so a request it unblocked is answered now, not at the tick.
  void settle_soon();
  class Channel;  ///< the allocator as the mesh sees it: forwards, then settle_soon()
  /// Starts an operation and answers the request when it completes (maybe at once).
  http::HttpResponse submit(const std::function<ipam::RequestId(TimePoint, mesh::GossipSender&)>& f);
  void rearm();
  void watch_ranges();

  boost::asio::io_context& io_;
  mesh_net::MeshNode& node_;
  router::KvStore& store_;
  Random& rng_;
  Logger log_;
  std::unique_ptr<ipam::MeshCoreView> view_;
  std::unique_ptr<ipam::Allocator> alloc_;
  std::unique_ptr<Channel> channel_;
  bool settle_posted_ = false;
  bool routes_posted_ = false;
  Cidr range_;
  Cidr default_subnet_;
  boost::asio::steady_timer timer_;
  boost::asio::steady_timer ranges_timer_;
  std::map<ipam::RequestId, std::shared_ptr<http::Deferred>> waiting_;
  bool stopped_ = false;
  bool no_masq_local_ = false;
  std::function<void(const std::vector<Ipv4Range>&)> on_owned_ranges_;
};

}  // namespace weft::weaver
