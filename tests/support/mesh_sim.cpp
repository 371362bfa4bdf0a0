#include "mesh_sim.hpp"

namespace weft::test {

std::size_t MeshSim::add_node(PeerName name, std::string nick, std::uint64_t uid) {
  Node n;
  n.rng = std::make_unique<SeededRandom>(rng_.next_u64());
  mesh::MeshConfig cfg;
  cfg.self = mesh::PeerIdentity{name, nick.empty() ? name.str() : nick, uid ? uid : rng_.next_u64() | 1,
                                ShortID::from_uint(rng_.uniform(4096))};
  cfg.weft_gossip = weft_gossip;
  n.weft_gossip = weft_gossip;
  n.core = std::make_unique<mesh::MeshCore>(cfg, *n.rng, null_logger());
  n.wake = now_;
  nodes_.push_back(std::move(n));
  return nodes_.size() - 1;
}

bool MeshSim::connect(std::size_t i, std::size_t j) {
  auto ci = next_conn_++, cj = next_conn_++;
  auto uid_i = rng_.next_u64(), uid_j = rng_.next_u64();
  auto info = [&](std::size_t self, std::size_t other, bool outbound, std::uint64_t a, std::uint64_t b) {
    mesh::ConnectionInfo ci_;
    auto& o = nodes_[other].core->topology().self();
    ci_.remote.name = o.name;
    ci_.remote.nickname = o.nickname;
    ci_.remote.uid = o.uid;
    ci_.remote.conn_id = b;
    ci_.remote.short_id = ShortID::from_uint(o.short_id);
    ci_.outbound = outbound;
    ci_.remote_tcp_addr = fmt::format("10.0.{}.{}:{}", other / 200, other % 200 + 1, outbound ? 6783 : 40000 + self);
    ci_.conn_uid = a ^ b;
    if (nodes_[other].weft_gossip) ci_.remote.weft_gossip = std::vector<std::string>{"1"};
    return ci_;
  };
  links_[{i, ci}] = Link{i, j, cj};
  links_[{j, cj}] = Link{j, i, ci};
  adjacent_.insert({i, j});
  adjacent_.insert({j, i});
  mesh::Effects fi, fj;
  auto ri = nodes_[i].core->add_connection(now_, ci, info(i, j, true, uid_i, uid_j), fi);
  auto rj = nodes_[j].core->add_connection(now_, cj, info(j, i, false, uid_j, uid_i), fj);
  if (ri || rj) {
    if (!ri) nodes_[i].core->remove_connection(now_, ci, fi);
    if (!rj) nodes_[j].core->remove_connection(now_, cj, fj);
    links_.erase({i, ci});
    links_.erase({j, cj});
    adjacent_.erase(adjacent_.find({i, j}));
    adjacent_.erase(adjacent_.find({j, i}));
    apply(i, fi);
    apply(j, fj);
    return false;
  }
  // No datapath in the sim: the overlay is "up" at once (mesh's NullOverlay).
  nodes_[i].core->connection_established(now_, ci, fi);
  nodes_[j].core->connection_established(now_, cj, fj);
  apply(i, fi);
  apply(j, fj);
  return true;
}

bool MeshSim::connected(std::size_t i, std::size_t j) const { return adjacent_.count({i, j}) > 0; }

void MeshSim::kill(std::size_t i) {
  std::vector<mesh::ConnId> ids;
  for (auto& [k, l] : links_) {
    if (l.from == i) ids.push_back(k.second);
  }
  for (auto id : ids) close_conn(i, id);
  nodes_.at(i).alive = false;
}

void MeshSim::with_effects(std::size_t i, const std::function<void(mesh::Effects&)>& f) {
  mesh::Effects fx;
  f(fx);
  apply(i, fx);
}

void MeshSim::close_conn(std::size_t node, mesh::ConnId id) {
  auto it = links_.find({node, id});
  if (it == links_.end()) return;
  auto far = it->second;
  links_.erase(it);
  if (auto a = adjacent_.find({node, far.to}); a != adjacent_.end()) adjacent_.erase(a);
  mesh::Effects f1, f2;
  nodes_[node].core->remove_connection(now_, id, f1);
  auto it2 = links_.find({far.to, far.peer_conn});
  if (it2 != links_.end()) {
    links_.erase(it2);
    if (auto a = adjacent_.find({far.to, node}); a != adjacent_.end()) adjacent_.erase(a);
    nodes_[far.to].core->remove_connection(now_, far.peer_conn, f2);
  }
  apply(node, f1);
  apply(far.to, f2);
}

void MeshSim::disconnect(std::size_t i, std::size_t j) {
  std::vector<mesh::ConnId> ids;
  for (auto& [k, l] : links_) {
    if (l.from == i && l.to == j) ids.push_back(k.second);
  }
  for (auto id : ids) close_conn(i, id);
}

void MeshSim::apply(std::size_t node, mesh::Effects& fx) {
  nodes_[node].wake = std::min(nodes_[node].wake, nodes_[node].core->next_wake());
  for (auto& s : fx.sends) {
    auto it = links_.find({node, s.conn});
    if (it == links_.end()) continue;
    queue_.push_back(InFlight{it->second.peer_conn, it->second.to, mesh::ProtocolMessage{s.tag, std::move(s.payload)}, node});
  }
  auto closes_now = fx.closes;
  fx = {};
  for (auto& [id, why] : closes_now) {
    closes.emplace_back(node, why);
    close_conn(node, id);
  }
}

void MeshSim::run(Duration d, Duration step) {
  auto end = now_ + d;
  while (now_ < end) {
    // Deliver everything queued (and what it causes) before the clock moves on.
    std::size_t budget = 1'000'000;
    while (!queue_.empty() && budget--) {
      auto m = std::move(queue_.front());
      queue_.pop_front();
      if (!nodes_[m.to].alive || !links_.count({m.to, m.to_conn})) continue;
      if (loss_ > 0 && rng_.unit() < loss_) continue;
      ++delivered_;
      if (on_deliver) on_deliver(m.from, m.to, m.msg);
      mesh::Effects fx;
      nodes_[m.to].core->on_message(now_, m.to_conn, m.msg, fx);
      apply(m.to, fx);
    }
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i].alive && nodes_[i].wake <= now_) {
        mesh::Effects fx;
        nodes_[i].wake = nodes_[i].core->on_tick(now_, fx);
        apply(i, fx);
      }
    }
    now_ += step;
  }
}

}  // namespace weft::test
