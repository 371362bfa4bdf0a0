#pragma once
// weave-kube's peer management (kube spec §3.6, §3.7), as Weave's kube-utils did it:
//   * the peer list: node addresses from the API (last IPv4 InternalIP, else ExternalIP),
//     this node left out by its local addresses;
//   * the ConfigMap kube-system/weave-net, whose annotations hold
//       kube-peers.weave.works/peers  {"Peers":[{"PeerName":"ce:31:e0:06:45:1a","NodeName":"node-1"}]}
//       kube-peers.weave.works/<peer name, [^A-Za-z0-9._/-] → _>  the reclaim lock (value: the
//                                                                  reclaiming peer's name)
//     kept byte-compatible with Weave so a cluster can move node by node;
//   * reclaim: rmpeer of the peers whose nodes are gone, one reclaimer per peer (the lock), with
//     409 Conflicts retried after a jittered 2-4 s.
// The decisions are pure functions of the ConfigMap; PeerStore and RouterPeers are the outside.
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "weft/base/logger.hpp"
#include "weft/base/result.hpp"
#include "weft/kube/api.hpp"

namespace weft::kube {

inline constexpr const char* kPeersAnnotation = "kube-peers.weave.works/peers";
inline constexpr const char* kConfigMapPath = "/api/v1/namespaces/kube-system/configmaps/weave-net";
inline constexpr const char* kConfigMapCollection = "/api/v1/namespaces/kube-system/configmaps";
inline constexpr const char* kFieldManager = "kube-peers.weave.works";

struct PeerInfo {
  std::string peer_name;
  std::string node_name;
  bool operator==(const PeerInfo&) const = default;
};

struct PeerList {
  std::vector<PeerInfo> peers;
  bool null = true;  ///< `{"Peers":null}` (never filled) rather than `[]`
  bool contains(const std::string& peer) const;
};

/// The annotation's JSON; an absent annotation is an empty (null) list. Not JSON → error.
Result<PeerList> parse_peer_list(const std::string& annotation);
/// Compact JSON with Go's field names, as Weave wrote it.
std::string encode_peer_list(const PeerList& l);
/// The lock annotation key for PEER: kube-peers.weave.works/ce_31_e0_06_45_1a.
std::string lock_key(const std::string& peer);

/// The peer list stored in the ConfigMap object CM.
Result<PeerList> peer_list_of(const Json& cm);
/// CM with the list set (annotations created as needed).
Json with_peer_list(Json cm, const PeerList& l);

struct NodeAddress {
  std::string name;
  std::string internal_ip;  ///< last IPv4 InternalIP, "" if none
  std::string external_ip;  ///< last IPv4 ExternalIP, "" if none
};
/// From a NodeList's items.
std::vector<NodeAddress> node_addresses(const Json& node_list);
/// kube-utils' getKubePeers: addresses to dial, in list order; nodes whose InternalIP is one of
/// LOCAL_IPS are this node and left out; nodes without any address are left out.
std::vector<std::string> peer_addresses(const std::vector<NodeAddress>& nodes,
                                        const std::set<std::string>& local_ips);

// ---- reclaim -------------------------------------------------------------------------------------

/// The Kubernetes side: the ConfigMap and the node names.
class PeerStore {
 public:
  virtual ~PeerStore() = default;
  /// Get, creating `{metadata:{name:weave-net,namespace:kube-system}}` on 404 (and re-getting
  /// on AlreadyExists).
  virtual ApiResult<Json> get_or_create() = 0;
  /// Full-object PUT with CM's resourceVersion; `conflict` when it is stale.
  virtual ApiResult<Json> update(const Json& cm) = 0;
  /// The names of every node, including those without an address.
  virtual ApiResult<std::set<std::string>> node_names() = 0;
};

/// The router: `DELETE /peer/<name>` (rmpeer). Returns its answer ("65536 IPs taken over ...").
class RouterPeers {
 public:
  virtual ~RouterPeers() = default;
  virtual Result<std::string> rmpeer(const std::string& peer) = 0;
};

/// What one reclaim lock looks like from peer ME (kube spec §3.7 step 3.2).
enum class LockState { none, mine, orphaned, other };
LockState lock_state(const Json& cm, const PeerList& list, const std::string& target, const std::string& me);

/// CM after reclaiming TARGET: every annotation whose value is TARGET removed, TARGET out of the
/// list, its lock key removed.
Json without_peer(Json cm, const std::string& target);

/// Candidates for reclaim: stored peers other than ME whose node is gone, plus old incarnations
/// of MY_NODE.
std::vector<std::string> reclaim_candidates(const PeerList& list, const std::set<std::string>& nodes,
                                            const std::string& me, const std::string& my_node);

class Reclaimer {
 public:
  using Sleep = std::function<void(std::chrono::milliseconds)>;
  /// SLEEP waits between 409 retries; JITTER gives 0..1 (2 s × (1 + jitter)).
  Reclaimer(PeerStore& store, RouterPeers& router, std::string me, std::string my_node, Logger log,
            Sleep sleep, std::function<double()> jitter);

  /// Adds ME (on MY_NODE) to the list unless present (`-reclaim`'s first step).
  ApiStatus add_self();
  /// Whether ME is in the stored list (`-check-peer-new`: false = "not in the list").
  ApiResult<bool> listed();
  /// reclaimRemovedPeers: repeat until nothing is left, or 3 passes change nothing. Returns the
  /// peers this node removed.
  ApiResult<std::vector<std::string>> reclaim_removed_peers();

  std::size_t conflicts() const { return conflicts_; }

 private:
  /// LoopUpdate: re-read, apply F, PUT; on 409 sleep 2-4 s and start again. F returns nullopt
  /// for "nothing to write".
  ApiStatus loop_update(const std::function<std::optional<Json>(const Json&)>& f);
  /// reclaimPeer; true if TARGET was removed by us.
  ApiResult<bool> reclaim_peer(const std::string& target);

  PeerStore& store_;
  RouterPeers& router_;
  std::string me_, my_node_;
  Logger log_;
  Sleep sleep_;
  std::function<double()> jitter_;
  std::size_t conflicts_ = 0;
};

}  // namespace weft::kube
