#pragma once
// IpamNet: N allocators over an in-memory gossip network, for the allocator tests and the
// simulation. Connectivity is all-to-all within a partition group among live nodes (so "has a
// route" = same group); messages are queued and delivered FIFO, and a message whose endpoints are
// no longer connected at delivery time is lost. Broadcasts reach every connected peer directly
// (the relay copies a real mesh would add carry only states those peers also gossip). Time is a
// fake clock: advance() runs due ticks and a periodic full-state gossip round every 30 s.
//
// After every call into an allocator the net does what the daemon shell must: persist what is
// dirty (to an in-memory copy of the state file), then collect completions. With group_commit
// set it does what weaver does instead: it persists after a call only when dirty().before_sends
// says the call's sends must not leave first, and everything else on settle().
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "weft/base/random.hpp"
#include "weft/ipam/allocator.hpp"

namespace weft::test {

class IpamNet {
 public:
  IpamNet(std::uint64_t seed, Cidr universe) : rng_(seed), universe_(universe) {}

  struct Options {
    ipam::IpallocInit init;
    std::size_t direct_peers = 0;  ///< MeshView::direct_peer_count (quorum guess)
    bool restore = false;          ///< start from this name's persisted state, if any
  };
  /// Adds a live node in group 0 and starts it. Returns its index.
  std::size_t add(PeerName name, std::string nickname, Options opt);
  /// Restarts node i from its persisted state (same name, new UID); its pending requests are lost.
  void restart(std::size_t i);
  /// Stops node i for good (crash: its queued messages are lost).
  void kill(std::size_t i);

  ipam::Allocator& at(std::size_t i) { return *nodes_.at(i)->alloc; }
  std::size_t size() const { return nodes_.size(); }
  bool alive(std::size_t i) const { return nodes_.at(i)->alive; }
  PeerName name(std::size_t i) const { return nodes_.at(i)->name; }
  const std::string& nickname(std::size_t i) const { return nodes_.at(i)->nickname; }
  TimePoint now() const { return now_; }

  // ---- connectivity
  void set_group(std::size_t i, int g) { nodes_.at(i)->group = g; }
  void heal();
  bool connected(std::size_t i, std::size_t j) const;
  /// Drop every message sent from now on with this probability.
  void set_loss(double p) { loss_ = p; }

  // ---- operations (completions land in completion())
  ipam::RequestId allocate(std::size_t i, std::string ident,
                           std::optional<Cidr> subnet = std::nullopt);
  ipam::RequestId claim(std::size_t i, std::string ident, Cidr cidr,
                        bool no_error_on_unknown = false);
  ipam::RequestId prime(std::size_t i);
  std::uint64_t rmpeer(std::size_t i, std::string_view who);
  void reset(std::size_t i);
  template <typename F>
  auto call(std::size_t i, F&& f) {
    Node& n = *nodes_.at(i);
    Sender s(*this, i);
    if constexpr (std::is_void_v<decltype(f(*n.alloc, s))>) {
      f(*n.alloc, s);
      after_call(i);
    } else {
      auto r = f(*n.alloc, s);
      after_call(i);
      return r;
    }
  }
  const ipam::Completion* completion(std::size_t i, ipam::RequestId id) const;

  // ---- running
  /// Delivers queued messages (and what they cause) until the queue is empty.
  void deliver();
  /// One round of periodic gossip: every live node sends its full state to `fanout` random peers.
  void gossip_round(std::size_t fanout = 2);
  /// Advances the clock in 1 s steps, running due ticks, gossip every 30 s, delivering as it goes.
  void advance(Duration d);

  /// on_* errors (each would close a connection in the real mesh): (node, message).
  std::vector<std::pair<std::size_t, std::string>> errors;
  std::uint64_t messages_delivered = 0;
  /// The persisted state file of each peer name, as the shell would keep it.
  std::map<PeerName, std::map<std::string, Bytes>> disk;
  /// Persist lazily, as weaver's group commit does (see above); settle(i) writes the rest.
  bool group_commit = false;
  void settle(std::size_t i) { persist(i); }

 private:
  enum class Tag { gossip, broadcast, unicast };
  struct Msg {
    std::size_t from, to;
    Tag tag;
    Bytes payload;
  };
  class View final : public ipam::MeshView {
   public:
    View(const IpamNet& net, std::size_t self, std::size_t direct)
        : net_(net), self_(self), direct_(direct) {}
    bool is_known(PeerName p) const override;
    bool has_route(PeerName p) const override;
    std::vector<PeerName> peers() const override;
    std::size_t direct_peer_count() const override { return direct_; }

   private:
    const IpamNet& net_;
    std::size_t self_, direct_;
  };
  class Sender final : public mesh::GossipSender {
   public:
    Sender(IpamNet& net, std::size_t from) : net_(net), from_(from) {}
    void unicast(PeerName dst, Bytes payload) override;
    void broadcast(Bytes payload) override;
    void gossip(Bytes payload) override;

   private:
    IpamNet& net_;
    std::size_t from_;
  };
  struct Node {
    PeerName name;
    std::string nickname;
    Options opt;
    bool alive = true;
    int group = 0;
    std::unique_ptr<SeededRandom> rng;
    std::unique_ptr<View> view;
    std::unique_ptr<ipam::Allocator> alloc;
    std::map<ipam::RequestId, ipam::Completion> done;
  };
  void start(std::size_t i);
  void after_call(std::size_t i);
  void persist(std::size_t i);
  void send(std::size_t from, std::size_t to, Tag tag, Bytes payload);
  std::optional<std::size_t> index_of(PeerName p) const;

  SeededRandom rng_;
  Cidr universe_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::deque<Msg> queue_;
  TimePoint now_{std::chrono::hours(1)};
  TimePoint next_gossip_{std::chrono::hours(1) + std::chrono::seconds(30)};
  double loss_ = 0;
};

}  // namespace weft::test
