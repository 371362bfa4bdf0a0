#include "weft/ipam/status.hpp"

#include <fmt/format.h>

#include <map>

#include "text.hpp"

namespace weft::ipam {

using detail::range_text;

namespace {

std::string display(PeerName p, const std::string& nick) { return fmt::format("{}({})", p, nick); }

}  // namespace

std::string status_line(const IpamStatus& s) {
  switch (s.state) {
    case IpamState::idle:
      return "idle";
    case IpamState::priming:
      return "priming";
    case IpamState::awaiting_consensus: {
      auto q = s.paxos ? s.paxos->quorum : 0;
      auto k = s.paxos ? s.paxos->known_nodes : 0;
      return fmt::format("awaiting consensus (quorum: {}, known: {})", q, k);
    }
    case IpamState::ready:
      return "ready";
    case IpamState::waiting_for_ips:
      return "waiting for IP(s) to become available";
    case IpamState::all_owners_unreachable:
      return "all IP ranges owned by unreachable peers - use 'rmpeer' if they are dead";
  }
  return "idle";
}

std::string format_status_ipam(const IpamStatus& s) {
  std::string out;
  if (s.entries.empty()) {
    out += fmt::format("Status: {}\n", status_line(s));
    if (s.state == IpamState::awaiting_consensus) {
      if (!s.consensus_waiting_for.empty()) {
        std::string names;
        for (std::size_t i = 0; i < s.consensus_waiting_for.size(); ++i) {
          if (i) names += ", ";
          auto nick =
              i < s.waiting_for_nicknames.size() ? s.waiting_for_nicknames[i] : std::string();
          names += nick.empty() ? s.consensus_waiting_for[i].str()
                                : display(s.consensus_waiting_for[i], nick);
        }
        out += fmt::format("Waiting for: {}\n", names);
      }
      if (s.peers_missing > 0) {
        out += fmt::format("Waiting for {} more peer{} to connect (see 'weave status targets')\n",
                           s.peers_missing, s.peers_missing == 1 ? "" : "s");
      }
    } else if (s.state == IpamState::priming) {
      out += "Waiting for a peer to send the IP allocation ring\n";
    }
    return out;
  }

  struct Stats {
    std::uint64_t ips = 0;
    std::string nickname;
    bool reachable = false;
  };
  std::map<PeerName, Stats> per_peer;
  for (auto& e : s.entries) {
    auto [it, fresh] = per_peer.try_emplace(e.peer);
    if (fresh) {
      it->second.nickname = e.nickname;
      it->second.reachable = e.reachable;
    }
    it->second.ips += e.size;
  }
  auto line = [&](PeerName p, const Stats& st, const std::string& info) {
    // NB: float, as Weave computes the percentage in float32.
    float pct = static_cast<float>(st.ips) * 100.0f /
                static_cast<float>(s.range_num_ips ? s.range_num_ips : 1);
    out += fmt::format("{:<37} {:>8} IPs ({:04.1f}% of total) {}\n", display(p, st.nickname),
                       st.ips, static_cast<double>(pct), info);
  };
  if (auto it = per_peer.find(s.self); it != per_peer.end()) {
    line(s.self, it->second, fmt::format("({} active)", s.active_ips));
  }
  for (auto& [p, st] : per_peer) {
    if (p != s.self) line(p, st, st.reachable ? "" : "- unreachable!");
  }
  if (!s.unreachable.empty()) {
    out +=
        "\nRanges owned by unreachable peers. If a peer is dead, reclaim its ranges (on one host "
        "only):\n";
    for (auto& u : s.unreachable) {
      std::string ranges;
      for (std::size_t i = 0; i < u.ranges.size(); ++i) {
        if (i == 3) {
          ranges += fmt::format(" (+{} more)", u.ranges.size() - 3);
          break;
        }
        ranges += (i ? " " : "") + range_text(u.ranges[i]);
      }
      out += fmt::format("  {:<40} # {}: {} IPs in {}\n", u.reclaim_command,
                         display(u.peer, u.nickname), u.size, ranges);
    }
  }
  return out;
}

}  // namespace weft::ipam
