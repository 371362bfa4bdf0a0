#pragma once
// An in-memory kernel for the Enforcer: it keeps ipsets and the filter table's chains and refuses
// what the real ipset / iptables-restore refuse (a rule naming a missing set or chain, a destroy of
// a set still referenced, a -D of a rule that is not there, a -X of a chain still jumped to), so a
// wrongly ordered script fails here as it would on a host. ipset restore applies line by line and
// stops at the first error (as ipset does); iptables-restore is all or nothing per COMMIT.
#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "weft/npc/netfilter.hpp"

namespace weft::npc::testing {

class FakeNetfilter final : public Netfilter {
 public:
  struct Set {
    std::string type;
    std::set<std::string> entries;
  };
  std::map<std::string, Set> sets;
  std::map<std::string, std::vector<std::string>> chains;  ///< user chains only
  std::set<std::string> hooked;  ///< chains the router's FORWARD/INPUT rules jump to
  std::vector<std::string> ipset_scripts, iptables_scripts;
  bool fail_next_ipset = false;
  bool comment_support = true;

  Result<void> ipset_restore(const std::string& script) override {
    ipset_scripts.push_back(script);
    if (fail_next_ipset) {
      fail_next_ipset = false;
      return make_error("injected failure");
    }
    std::istringstream in(script);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      auto t = tokens(line);
      if (t.empty()) continue;
      auto bad = [&](const std::string& why) { return make_error("line {}: {}: {}", n, why, line); };
      if (t[0] == "create" && t.size() >= 3) {
        if (!comment_support && std::find(t.begin(), t.end(), "comment") != t.end()) return bad("no comment support");
        auto it = sets.find(t[1]);
        if (it != sets.end() && it->second.type != t[2]) return bad("set exists with another type");
        sets[t[1]].type = t[2];
      } else if ((t[0] == "add" || t[0] == "del") && t.size() >= 3) {
        auto it = sets.find(t[1]);
        if (it == sets.end()) return bad("no such set");
        if (t[0] == "add") {
          if (it->second.type == "list:set" && sets.count(t[2]) == 0) return bad("member set does not exist");
          it->second.entries.insert(t[2]);
        } else {
          it->second.entries.erase(t[2]);
        }
      } else if (t[0] == "flush" && t.size() == 2) {
        if (sets.count(t[1]) == 0) return bad("no such set");
        sets[t[1]].entries.clear();
      } else if (t[0] == "destroy" && t.size() == 2) {
        if (sets.count(t[1]) == 0) return bad("no such set");
        if (set_in_use(t[1])) return bad("set in use");
        sets.erase(t[1]);
      } else {
        return bad("unknown command");
      }
    }
    return {};
  }

  Result<void> iptables_restore(const std::string& script) override {
    iptables_scripts.push_back(script);
    auto work = chains;
    std::istringstream in(script);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line == "*filter") continue;
      if (line == "COMMIT") {
        chains = work;
        continue;
      }
      if (line[0] == ':') {
        work[line.substr(1, line.find(' ') - 1)].clear();
        continue;
      }
      auto t = tokens(line);
      if (t.size() < 2) return make_error("bad line {}", line);
      const std::string& chain = t[1];
      const std::string rule = line.substr(line.find(chain) + chain.size() + (t.size() > 2 ? 1 : 0));
      if (t[0] == "-X") {
        if (work.count(chain) == 0) return make_error("no chain {}", chain);
        if (hooked.count(chain) != 0 || chain_in_use(work, chain)) return make_error("chain {} in use", chain);
        if (!work[chain].empty()) return make_error("chain {} not empty", chain);
        work.erase(chain);
        continue;
      }
      if (work.count(chain) == 0) return make_error("no chain {}", chain);
      if (t[0] == "-A") {
        auto rt = tokens(rule);
        for (std::size_t i = 0; i + 1 < rt.size(); ++i) {
          if (rt[i] == "--match-set" && sets.count(rt[i + 1]) == 0) return make_error("no set {}: {}", rt[i + 1], line);
          if (rt[i] == "-j" && rt[i + 1].rfind("WEAVE-", 0) == 0 && work.count(rt[i + 1]) == 0) {
            return make_error("no chain {}: {}", rt[i + 1], line);
          }
        }
        work[chain].push_back(rule);
      } else if (t[0] == "-D") {
        auto& v = work[chain];
        auto it = std::find(v.begin(), v.end(), rule);
        if (it == v.end()) return make_error("no such rule: {}", line);
        v.erase(it);
      } else {
        return make_error("unknown command {}", line);
      }
    }
    return {};
  }

  Result<std::vector<std::string>> ipset_names() override {
    std::vector<std::string> out;
    for (const auto& [n, _] : sets) out.push_back(n);
    return out;
  }

  Result<std::string> iptables_save() override {
    std::string out = "*filter\n";
    for (const auto& [c, _] : chains) out += ":" + c + " - [0:0]\n";
    for (const auto& [c, rules] : chains) {
      for (const auto& r : rules) out += "-A " + c + " " + r + "\n";
    }
    return out + "COMMIT\n";
  }

  static std::vector<std::string> tokens(const std::string& line) {
    std::vector<std::string> out;
    std::string cur;
    bool quoted = false, any = false;
    for (char c : line) {
      if (c == '"') {
        quoted = !quoted;
        any = true;
      } else if (c == ' ' && !quoted) {
        if (any) out.push_back(cur);
        cur.clear();
        any = false;
      } else {
        cur += c;
        any = true;
      }
    }
    if (any) out.push_back(cur);
    return out;
  }

 private:
  bool set_in_use(const std::string& name) const {
    for (const auto& [_, s] : sets) {
      if (s.type == "list:set" && s.entries.count(name) != 0) return true;
    }
    for (const auto& [_, rules] : chains) {
      for (const auto& r : rules) {
        auto t = tokens(r);
        for (std::size_t i = 0; i + 1 < t.size(); ++i) {
          if (t[i] == "--match-set" && t[i + 1] == name) return true;
        }
      }
    }
    return false;
  }
  static bool chain_in_use(const std::map<std::string, std::vector<std::string>>& cs, const std::string& chain) {
    for (const auto& [_, rules] : cs) {
      for (const auto& r : rules) {
        if (r.find("-j " + chain) != std::string::npos && r.substr(r.find("-j " + chain) + 3) == chain) return true;
      }
    }
    return false;
  }
};

}  // namespace weft::npc::testing
