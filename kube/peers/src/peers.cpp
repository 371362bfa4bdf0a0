#include "weft/kube/peers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "weft/base/ipv4.hpp"

namespace weft::kube {

bool PeerList::contains(const std::string& peer) const {
  return std::any_of(peers.begin(), peers.end(), [&](const PeerInfo& p) { return p.peer_name == peer; });
}

Result<PeerList> parse_peer_list(const std::string& annotation) {
  PeerList l;
  if (annotation.empty()) return l;
  auto j = Json::parse(annotation, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return make_error("annotation {} is not a JSON object: {}", kPeersAnnotation, annotation.substr(0, 200));
  }
  auto it = j.find("Peers");
  if (it == j.end() || it->is_null()) return l;
  if (!it->is_array()) return make_error("annotation {}: Peers is not a list", kPeersAnnotation);
  l.null = false;
  for (const auto& p : *it) {
    if (!p.is_object()) return make_error("annotation {}: a peer is not an object", kPeersAnnotation);
    PeerInfo info;
    if (auto n = p.find("PeerName"); n != p.end() && n->is_string()) info.peer_name = n->get<std::string>();
    if (auto n = p.find("NodeName"); n != p.end() && n->is_string()) info.node_name = n->get<std::string>();
    l.peers.push_back(std::move(info));
  }
  return l;
}

std::string encode_peer_list(const PeerList& l) {
  if (l.null && l.peers.empty()) return R"({"Peers":null})";
  // NB: ordered_json keeps Go's field order (PeerName, NodeName).
  nlohmann::ordered_json peers = nlohmann::ordered_json::array();
  for (const auto& p : l.peers) peers.push_back({{"PeerName", p.peer_name}, {"NodeName", p.node_name}});
  return nlohmann::ordered_json{{"Peers", peers}}.dump();
}

std::string lock_key(const std::string& peer) {
  std::string s = peer;
  for (char& c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '/' || c == '-';
    if (!ok) c = '_';
  }
  return "kube-peers.weave.works/" + s;
}

namespace {

const Json* annotations(const Json& cm) {
  if (!cm.is_object()) return nullptr;
  auto md = cm.find("metadata");
  if (md == cm.end() || !md->is_object()) return nullptr;
  auto a = md->find("annotations");
  if (a == md->end() || !a->is_object()) return nullptr;
  return &*a;
}

std::string annotation(const Json& cm, const std::string& key) {
  const Json* a = annotations(cm);
  if (a == nullptr) return "";
  auto it = a->find(key);
  return it != a->end() && it->is_string() ? it->get<std::string>() : "";
}

bool has_annotation(const Json& cm, const std::string& key) {
  const Json* a = annotations(cm);
  return a != nullptr && a->contains(key);
}

Json& annotations_mut(Json& cm) {
  auto& md = cm["metadata"];
  if (!md.is_object()) md = Json::object();
  auto& a = md["annotations"];
  if (!a.is_object()) a = Json::object();
  return a;
}

}  // namespace

Result<PeerList> peer_list_of(const Json& cm) { return parse_peer_list(annotation(cm, kPeersAnnotation)); }

Json with_peer_list(Json cm, const PeerList& l) {
  annotations_mut(cm)[kPeersAnnotation] = encode_peer_list(l);
  return cm;
}

std::vector<NodeAddress> node_addresses(const Json& node_list) {
  std::vector<NodeAddress> out;
  const Json* items = node_list.is_object() && node_list.contains("items") ? &node_list["items"] : nullptr;
  if (items == nullptr || !items->is_array()) return out;
  for (const auto& n : *items) {
    NodeAddress a;
    if (n.contains("metadata") && n["metadata"].is_object()) a.name = n["metadata"].value("name", "");
    if (n.contains("status") && n["status"].is_object() && n["status"].contains("addresses") &&
        n["status"]["addresses"].is_array()) {
      for (const auto& ad : n["status"]["addresses"]) {
        if (!ad.is_object()) continue;
        std::string type = ad.value("type", ""), addr = ad.value("address", "");
        if (!Ipv4::parse(addr)) continue;  // IPv4 only, as Weave
        if (type == "InternalIP") a.internal_ip = addr;
        if (type == "ExternalIP") a.external_ip = addr;
      }
    }
    out.push_back(std::move(a));
  }
  return out;
}

std::vector<std::string> peer_addresses(const std::vector<NodeAddress>& nodes, const std::set<std::string>& local_ips) {
  std::vector<std::string> out;
  for (const auto& n : nodes) {
    if (!n.internal_ip.empty()) {
      if (local_ips.count(n.internal_ip) == 0) out.push_back(n.internal_ip);
    } else if (!n.external_ip.empty()) {
      out.push_back(n.external_ip);
    }
  }
  return out;
}

LockState lock_state(const Json& cm, const PeerList& list, const std::string& target, const std::string& me) {
  auto key = lock_key(target);
  if (!has_annotation(cm, key)) return LockState::none;
  auto owner = annotation(cm, key);
  if (owner == me) return LockState::mine;
  if (!list.contains(owner)) return LockState::orphaned;
  return LockState::other;
}

Json without_peer(Json cm, const std::string& target) {
  auto& a = annotations_mut(cm);
  for (auto it = a.begin(); it != a.end();) {
    if (it.key() != kPeersAnnotation && it->is_string() && it->get<std::string>() == target) {
      it = a.erase(it);
    } else {
      ++it;
    }
  }
  a.erase(lock_key(target));
  if (auto l = peer_list_of(cm); l) {
    PeerList kept = *l;
    std::erase_if(kept.peers, [&](const PeerInfo& p) { return p.peer_name == target; });
    a[kPeersAnnotation] = encode_peer_list(kept);
  }
  return cm;
}

std::vector<std::string> reclaim_candidates(const PeerList& list, const std::set<std::string>& nodes,
                                            const std::string& me, const std::string& my_node) {
  std::vector<std::string> out;
  for (const auto& p : list.peers) {
    if (p.peer_name == me) continue;
    if (p.node_name == my_node || nodes.count(p.node_name) == 0) out.push_back(p.peer_name);
  }
  return out;
}

Reclaimer::Reclaimer(PeerStore& store, RouterPeers& router, std::string me, std::string my_node, Logger log,
                     Sleep sleep, std::function<double()> jitter)
    : store_(store),
      router_(router),
      me_(std::move(me)),
      my_node_(std::move(my_node)),
      log_(std::move(log)),
      sleep_(std::move(sleep)),
      jitter_(std::move(jitter)) {}

ApiStatus Reclaimer::loop_update(const std::function<std::optional<Json>(const Json&)>& f) {
  for (int attempt = 0;; ++attempt) {
    auto cm = store_.get_or_create();
    if (!cm) return cm.error();
    auto next = f(*cm);
    if (!next) return Unit{};
    auto r = store_.update(*next);
    if (r) return Unit{};
    if (r.error().kind != ErrorKind::conflict || attempt >= 100) return r.error();
    ++conflicts_;
    auto wait = std::chrono::milliseconds(static_cast<long>(2000 * (1.0 + jitter_())));
    log_.debug("conflict updating the weave-net ConfigMap; retrying in {} ms", wait.count());
    sleep_(wait);
  }
}

ApiStatus Reclaimer::add_self() {
  return loop_update([&](const Json& cm) -> std::optional<Json> {
    auto l = peer_list_of(cm);
    PeerList list = l ? *l : PeerList{};
    if (list.contains(me_)) return std::nullopt;
    list.peers.push_back({me_, my_node_});
    list.null = false;
    log_.info("adding myself ({} on {}) to the peer list", me_, my_node_);
    return with_peer_list(cm, list);
  });
}

ApiResult<bool> Reclaimer::listed() {
  auto cm = store_.get_or_create();
  if (!cm) return cm.error();
  auto l = peer_list_of(*cm);
  if (!l) return ApiError{ErrorKind::bad_response, 0, "", l.error().message};
  return l->contains(me_);
}

ApiResult<bool> Reclaimer::reclaim_peer(const std::string& target) {
  auto cm = store_.get_or_create();
  if (!cm) return cm.error();
  auto l = peer_list_of(*cm);
  if (!l) return ApiError{ErrorKind::bad_response, 0, "", l.error().message};
  switch (lock_state(*cm, *l, target, me_)) {
    case LockState::mine: break;
    case LockState::other:
      log_.debug("peer {} is being reclaimed by another peer", target);
      return false;
    case LockState::none:
    case LockState::orphaned: {
      Json locked = *cm;
      annotations_mut(locked)[lock_key(target)] = me_;
      auto put = store_.update(locked);
      if (!put) {
        if (put.error().kind == ErrorKind::conflict) {
          ++conflicts_;
          log_.debug("lost the race for the lock on {}", target);
          return false;
        }
        return put.error();
      }
      break;
    }
  }
  auto again = store_.get_or_create();
  if (!again) return again.error();
  auto l2 = peer_list_of(*again);
  if (l2 && l2->contains(target)) {
    auto r = router_.rmpeer(target);
    if (!r) return ApiError{ErrorKind::transport, 0, "", "rmpeer " + target + ": " + r.error().message};
    log_.info("rmpeer of {}: {}", target, *r);
  }
  auto done = loop_update([&](const Json& c) -> std::optional<Json> { return without_peer(c, target); });
  if (!done) return done.error();
  return true;
}

ApiResult<std::vector<std::string>> Reclaimer::reclaim_removed_peers() {
  std::vector<std::string> removed;
  int quiet_passes = 0;
  while (quiet_passes < 3) {
    auto cm = store_.get_or_create();
    if (!cm) return cm.error();
    auto l = peer_list_of(*cm);
    if (!l) return ApiError{ErrorKind::bad_response, 0, "", l.error().message};
    auto nodes = store_.node_names();
    if (!nodes) return nodes.error();
    auto cands = reclaim_candidates(*l, *nodes, me_, my_node_);
    if (cands.empty()) break;
    bool changed = false;
    for (const auto& x : cands) {
      auto r = reclaim_peer(x);
      if (!r) return r.error();
      if (*r) {
        removed.push_back(x);
        changed = true;
      }
    }
    quiet_passes = changed ? 0 : quiet_passes + 1;
  }
  return removed;
}

}  // namespace weft::kube
