#include "weft/mesh/mesh_core.hpp"

#include <sodium.h>

#include <algorithm>

#include "weft/mesh/gossip_codec.hpp"
#include "weft/mesh/topology_codec.hpp"
#include "weft/mesh/topology_sync.hpp"

namespace weft::mesh {

class MeshCore::Sender final : public GossipSender {
 public:
  Sender(MeshCore& core, std::string channel, TimePoint now, Effects& fx)
      : core_(core), channel_(std::move(channel)), now_(now), fx_(fx) {}
  void unicast(PeerName dst, Bytes payload) override {
    GossipEnvelope e{channel_, core_.self_name(), dst, std::move(payload)};
    if (!core_.relay_unicast(dst, encode_gossip_envelope(e, true), fx_)) {
      core_.log_.info("gossip unicast on {} to {}: no route", channel_, dst);
    }
  }
  void broadcast(Bytes payload) override { core_.relay_broadcast(channel_, core_.self_name(), payload, fx_); }
  void gossip(Bytes payload) override { core_.relay_gossip(now_, channel_, core_.self_name(), payload, fx_); }

 private:
  MeshCore& core_;
  std::string channel_;
  TimePoint now_;
  Effects& fx_;
};

MeshCore::MeshCore(MeshConfig config, Random& rng, Logger log)
    : config_(std::move(config)), rng_(rng), log_(std::move(log)), topology_(config_.self, rng) {}

void MeshCore::add_channel(std::string name, GossipChannel& channel) { channels_[std::move(name)] = &channel; }

std::unique_ptr<GossipSender> MeshCore::sender(std::string channel, TimePoint now, Effects& fx) {
  return std::make_unique<Sender>(*this, std::move(channel), now, fx);
}

const RouteTable& MeshCore::routes() {
  if (!routes_) {
    routes_.emplace(compute_routes(topology_, topology_.self_name()));
    ++route_computations_;
  }
  return *routes_;
}

const RouteTable& MeshCore::relay_routes(TimePoint now) {
  if (routes_) return *routes_;
  if (stale_routes_ && now - stale_routes_at_ < kRelayRoutesMaxAge) return *stale_routes_;
  stale_routes_.reset();
  stale_routes_at_ = now;
  return routes();
}

void MeshCore::invalidate_routes() {
  ++topology_epoch_;
  if (routes_) stale_routes_ = std::move(routes_);
  routes_.reset();
}

std::optional<ConnId> MeshCore::conn_to(PeerName p) const {
  for (auto& [id, c] : conns_) {
    if (c.info.remote.name == p) return id;
  }
  return std::nullopt;
}

void MeshCore::topology_changed(TimePoint now, const ChangeOutcome& c, Effects& fx) {
  invalidate_routes();
  fx.topology_changed = true;
  if (c.local_version_bumped && !update_at_) update_at_ = now + kTopologyBatchDelay;
}

std::optional<Refused> MeshCore::add_connection(TimePoint now, ConnId id, const ConnectionInfo& info, Effects& fx) {
  const auto& r = info.remote;
  const auto& self = topology_.self();
  if (r.name == self.name) {
    if (r.uid != self.uid) {
      return Refused{RefuseKind::name_collision,
                     fmt::format("local \"{}\" and remote \"{}\" peer names collision", self.name, r.name)};
    }
    return Refused{RefuseKind::ourself, "cannot connect to ourself"};
  }
  if (!info.accept_new_peer && !topology_.find(r.name)) {
    return Refused{RefuseKind::unknown_peer, fmt::format("Found unknown remote name: {} at {}", r.name, info.remote_tcp_addr)};
  }
  if (auto dup = conn_to(r.name)) {
    auto dup_uid = conns_.at(*dup).info.conn_uid;
    auto msg = fmt::format("Multiple connections to {}({}) added to {}({})", r.name, r.nickname, self.name, self.nickname);
    if (info.conn_uid > dup_uid) return Refused{RefuseKind::duplicate, msg};
    // We win (lower connUID) or tie (drop both): the older connection goes.
    fx.closes.emplace_back(*dup, msg);
    remove_connection(now, *dup, fx);
    if (info.conn_uid == dup_uid) return Refused{RefuseKind::duplicate, msg};
  }
  if (config_.conn_limit > 0 && conns_.size() >= config_.conn_limit) {
    return Refused{RefuseKind::limit, fmt::format("Connection limit reached ({})", config_.conn_limit)};
  }
  const PeerEntry* known = topology_.find(r.name);
  bool restarted = known && !known->is_placeholder() && known->uid != r.uid;
  bool connected = routes().unicast(r.name).has_value();
  PeerIdentity remote{r.name, r.nickname, r.uid, r.short_id};
  auto added = topology_.add_connection(remote, info.remote_tcp_addr, info.outbound, false);
  if (!added) return Refused{RefuseKind::duplicate, added.error().message};
  conns_[id] = LocalConn{id, info, false, now};
  const char* why = restarted ? " (restarted peer)" : connected ? "" : " (new peer)";
  log_.info("->[{}|{}({})]: connection added{}", info.remote_tcp_addr, r.name, log_safe(r.nickname), why);
  if (restarted || !connected) send_all_gossip_down(now, id, fx);
  topology_changed(now, *added, fx);
  return std::nullopt;
}

void MeshCore::connection_established(TimePoint now, ConnId id, Effects& fx) {
  auto it = conns_.find(id);
  if (it == conns_.end() || it->second.established) return;
  it->second.established = true;
  auto r = topology_.mark_established(it->second.info.remote.name);
  if (r) topology_changed(now, *r, fx);
}

void MeshCore::remove_connection(TimePoint now, ConnId id, Effects& fx) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  auto name = it->second.info.remote.name;
  conns_.erase(it);
  ++terminations_;
  fx.removed.emplace_back(id, name);
  auto r = topology_.remove_connection(name);
  if (r) topology_changed(now, *r, fx);
  if (!gc_at_) gc_at_ = now + kGcDelay;
}

void MeshCore::on_message(TimePoint now, ConnId id, const ProtocolMessage& msg, Effects& fx) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  switch (msg.tag) {
    case ProtocolTag::heartbeat: return;
    case ProtocolTag::connection_established:
    case ProtocolTag::fragmentation_received:
    case ProtocolTag::pmtu_verified:
    case ProtocolTag::overlay_control:
      if (msg.tag == ProtocolTag::overlay_control && msg.payload.empty()) return;
      fx.overlay.push_back(OverlayMessage{id, it->second.info.remote.name, msg.tag, msg.payload});
      return;
    case ProtocolTag::gossip:
    case ProtocolTag::gossip_unicast:
    case ProtocolTag::gossip_broadcast: dispatch_gossip(now, id, msg, fx); return;
  }
  log_.debug("ignoring message with unknown tag {} from {}", static_cast<int>(msg.tag), it->second.info.remote.name);
}

GossipChannel& MeshCore::channel(const std::string& name) {
  if (auto it = channels_.find(name); it != channels_.end()) return *it->second;
  auto& s = surrogates_[name];
  if (!s) {
    // NB: a hostile peer could name endless channels; cap the surrogates it can make us create.
    if (surrogates_.size() > 64) {
      surrogates_.erase(name);
      return overflow_;
    }
    s = std::make_unique<SurrogateChannel>();
  }
  return *s;
}

void MeshCore::dispatch_gossip(TimePoint now, ConnId id, const ProtocolMessage& msg, Effects& fx) {
  bool unicast = msg.tag == ProtocolTag::gossip_unicast;
  auto env = decode_gossip_envelope(msg.payload, unicast);
  auto fail = [&](const std::string& why) { fx.closes.emplace_back(id, why); };
  if (!env) return fail(env.error().message);
  if (env->channel == kTopologySyncChannel) {
    // weft-to-weft only, neighbour to neighbour: never relayed, never from a Weave peer.
    if (msg.tag != ProtocolTag::gossip) return fail("topology sync must be plain gossip");
    if (!uses_digests(id)) return fail("topology sync on a connection that did not negotiate WeftGossip");
    auto r = on_topology_sync(id, env->payload, fx);
    if (!r) fail(r.error().message);
    return;
  }
  bool is_topology = env->channel == kTopologyChannel;
  if (msg.tag == ProtocolTag::gossip_unicast) {
    if (is_topology) return fail("unexpected topology gossip unicast");
    if (env->dst != self_name()) {
      if (!relay_unicast(env->dst, msg.payload, fx)) log_.info("unknown relay destination: {}", env->dst);
      return;
    }
    Sender out(*this, env->channel, now, fx);
    auto r = channel(env->channel).on_unicast(now, env->src, env->payload, out);
    if (!r) fail(r.error().message);
    return;
  }
  bool broadcast = msg.tag == ProtocolTag::gossip_broadcast;
  Result<std::optional<Bytes>> relay = std::optional<Bytes>{};
  if (is_topology) {
    relay = topology_on_gossip(now, env->payload, broadcast, fx);
  } else {
    Sender out(*this, env->channel, now, fx);
    auto& ch = channel(env->channel);
    relay = broadcast ? ch.on_broadcast(now, env->src, env->payload, out) : ch.on_gossip(now, env->src, env->payload, out);
  }
  if (!relay) return fail(relay.error().message);
  if (!relay->has_value()) return;
  if (broadcast) {
    relay_broadcast(env->channel, env->src, **relay, fx);
  } else {
    relay_gossip(now, env->channel, env->src, **relay, fx);
  }
}

Bytes MeshCore::encode_topology(const std::vector<PeerSummary>& peers) const { return encode_peer_updates(peers); }

Result<std::optional<Bytes>> MeshCore::topology_on_gossip(TimePoint now, ByteSpan payload, bool broadcast, Effects& fx) {
  // Merging is a function of the table and the bytes: the same bytes as an update that changed
  // nothing, with the table unchanged since, change nothing again. Periodic full states in a
  // converged mesh are such repeats (O(peers x links) to decode each), so they are skipped unread.
  std::optional<NoopUpdate> seen;
  if (!broadcast && payload.size() >= kNoopCacheMinBytes) {
    seen.emplace();
    seen->epoch = topology_epoch_;
    crypto_generichash(seen->hash.data(), seen->hash.size(), payload.data(), payload.size(), nullptr, 0);
    if (noop_update_ && noop_update_->epoch == seen->epoch && noop_update_->hash == seen->hash) {
      ++sync_stats_.unchanged_skipped;
      if (!gc_at_) gc_at_ = now + kGcDelay;
      return std::optional<Bytes>{};
    }
  }
  WEFT_TRY(update, decode_peer_updates(payload));
  WEFT_TRY(out, topology_.apply_update(update));
  if (!gc_at_) gc_at_ = now + kGcDelay;
  if (seen && out.improved.empty() && out.placeholders.empty() && !out.local_version_bumped) noop_update_ = seen;
  if (!out.improved.empty() || out.local_version_bumped || !out.placeholders.empty()) topology_changed(now, out, fx);
  if (broadcast) {
    if (out.received.empty()) return std::optional<Bytes>{};
    return std::optional<Bytes>(encode_topology(topology_.summaries(out.received, false)));
  }
  if (out.improved.empty()) return std::optional<Bytes>{};
  return std::optional<Bytes>(encode_topology(topology_.summaries(out.improved, false)));
}

void MeshCore::send_to_peers(const std::vector<PeerName>& peers, ProtocolTag tag, const Bytes& body, Effects& fx) {
  for (auto p : peers) {
    if (auto c = conn_to(p)) fx.sends.push_back(OutMessage{*c, tag, body});
  }
}

void MeshCore::relay_gossip(TimePoint now, const std::string& channel, PeerName except, const Bytes& payload, Effects& fx) {
  auto peers = relay_routes(now).random_neighbours(except, rng_);
  if (peers.empty()) return;
  GossipEnvelope e{channel, self_name(), {}, payload};
  send_to_peers(peers, ProtocolTag::gossip, encode_gossip_envelope(e, false), fx);
}

void MeshCore::relay_broadcast(const std::string& channel, PeerName src, const Bytes& payload, Effects& fx) {
  auto peers = routes().broadcast_all(src);
  if (peers.empty()) return;
  GossipEnvelope e{channel, src, {}, payload};
  send_to_peers(peers, ProtocolTag::gossip_broadcast, encode_gossip_envelope(e, false), fx);
}

bool MeshCore::relay_unicast(PeerName dst, const Bytes& body, Effects& fx) {
  auto hop = routes().unicast_all(dst);
  if (!hop || hop->is_unknown()) return false;
  auto c = conn_to(*hop);
  if (!c) return false;
  fx.sends.push_back(OutMessage{*c, ProtocolTag::gossip_unicast, body});
  return true;
}

std::vector<Bytes> MeshCore::channel_full_state(TimePoint now, const std::string& name) {
  if (name == kTopologyChannel) return {encode_topology(topology_.all_summaries())};
  return channels_.at(name)->full_state(now);
}

void MeshCore::send_all_gossip_down(TimePoint now, ConnId id, Effects& fx) {
  std::vector<std::string> names{std::string(kTopologyChannel)};
  for (auto& [n, _] : channels_) names.push_back(n);
  for (auto& n : names) {
    for (auto& payload : channel_full_state(now, n)) {
      GossipEnvelope e{n, self_name(), {}, std::move(payload)};
      fx.sends.push_back(OutMessage{id, ProtocolTag::gossip, encode_gossip_envelope(e, false)});
    }
  }
}

TimePoint MeshCore::on_tick(TimePoint now, Effects& fx) {
  if (!gossip_at_) gossip_at_ = now + kGossipInterval;
  if (gc_at_ && now >= *gc_at_) {
    gc_at_.reset();
    auto g = topology_.garbage_collect();
    if (!g.removed.empty()) {
      // Bounded: gossip can make thousands of peers vanish at once (issue 18, item 7).
      for (std::size_t i = 0; i < g.removed.size() && i < 10; ++i) {
        log_.info("Removed unreachable peer {}({})", g.removed[i].name, log_safe(g.removed[i].nickname));
      }
      if (g.removed.size() > 10) log_.info("Removed {} more unreachable peers", g.removed.size() - 10);
      fx.peers_gone.insert(fx.peers_gone.end(), g.removed.begin(), g.removed.end());
      topology_changed(now, g, fx);
    } else if (g.local_version_bumped) {
      topology_changed(now, g, fx);
    }
  }
  if (update_at_ && now >= *update_at_) {
    update_at_.reset();
    auto g = topology_.garbage_collect();  // never advertise unreachable peers
    if (!g.removed.empty()) {
      fx.peers_gone.insert(fx.peers_gone.end(), g.removed.begin(), g.removed.end());
      invalidate_routes();
      fx.topology_changed = true;
    }
    std::vector<PeerName> names(pending_update_.begin(), pending_update_.end());
    pending_update_.clear();
    relay_gossip(now, std::string(kTopologyChannel), self_name(), encode_topology(topology_.summaries(names, true)), fx);
  }
  if (now >= *gossip_at_) {
    gossip_at_ = now + kGossipInterval;
    periodic_topology_gossip(now, fx);
    for (auto& [n, _] : channels_) {
      for (auto& payload : channel_full_state(now, n)) relay_gossip(now, n, self_name(), payload, fx);
    }
  }
  return next_wake();
}

bool MeshCore::uses_digests(ConnId id) const {
  if (!config_.weft_gossip) return false;
  auto it = conns_.find(id);
  if (it == conns_.end() || !it->second.info.remote.weft_gossip) return false;
  const auto& words = *it->second.info.remote.weft_gossip;
  return std::find(words.begin(), words.end(), kWeftGossipVersion) != words.end();
}

void MeshCore::send_direct(ConnId id, std::string_view channel, Bytes payload, Effects& fx) {
  GossipEnvelope e{std::string(channel), self_name(), {}, std::move(payload)};
  fx.sends.push_back(OutMessage{id, ProtocolTag::gossip, encode_gossip_envelope(e, false)});
}

void MeshCore::periodic_topology_gossip(TimePoint now, Effects& fx) {
  // The same neighbours (and random draws) as Weave's round; only what each one gets differs.
  auto peers = relay_routes(now).random_neighbours(self_name(), rng_);
  std::optional<Bytes> full, digest;
  for (auto p : peers) {
    auto c = conn_to(p);
    if (!c) continue;
    std::optional<Bytes>* msg = &full;
    if (uses_digests(*c)) {
      msg = &digest;
      if (!digest) {
        GossipEnvelope e{
            std::string(kTopologySyncChannel), self_name(), {}, encode_topology_sync(topology_digest(topology_))};
        digest = encode_gossip_envelope(e, false);
      }
      ++sync_stats_.digests_sent;
    } else {
      if (!full) {
        GossipEnvelope e{std::string(kTopologyChannel), self_name(), {}, encode_topology(topology_.all_summaries())};
        full = encode_gossip_envelope(e, false);
      }
      ++sync_stats_.full_sent;
    }
    fx.sends.push_back(OutMessage{*c, ProtocolTag::gossip, **msg});
  }
}

Result<void> MeshCore::on_topology_sync(ConnId id, ByteSpan payload, Effects& fx) {
  WEFT_TRY(m, decode_topology_sync(payload));
  if (const auto* d = std::get_if<TopologyDigest>(&m)) {
    if (*d == topology_digest(topology_)) {
      ++sync_stats_.digests_matched;
      return ok_result();
    }
    ++sync_stats_.versions_sent;
    send_direct(id, kTopologySyncChannel, encode_topology_sync(topology_versions(topology_)), fx);
    return ok_result();
  }
  if (const auto* v = std::get_if<std::vector<PeerVersion>>(&m)) {
    auto plan = plan_sync(topology_, *v);
    if (!plan.push.empty()) {
      ++sync_stats_.updates_pushed;
      send_direct(id, kTopologyChannel, encode_topology(topology_.summaries(plan.push, false)), fx);
    }
    if (!plan.want.empty()) {
      ++sync_stats_.wants_sent;
      send_direct(id, kTopologySyncChannel, encode_topology_sync(SyncWant{std::move(plan.want)}), fx);
    }
    return ok_result();
  }
  const auto& want = std::get<SyncWant>(m);
  auto answer = topology_.summaries(want.names, false);
  if (!answer.empty()) {
    ++sync_stats_.updates_pushed;
    send_direct(id, kTopologyChannel, encode_topology(answer), fx);
  }
  return ok_result();
}

TimePoint MeshCore::next_wake() const {
  TimePoint next = gossip_at_ ? *gossip_at_ : TimePoint{};
  if (gc_at_) next = std::min(next, *gc_at_);
  if (update_at_) next = std::min(next, *update_at_);
  return next;
}

}  // namespace weft::mesh
