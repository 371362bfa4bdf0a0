#include "weft/npc/diff.hpp"

#include <unordered_set>

#include <fmt/format.h>

namespace weft::npc {

namespace {

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += (c == '"' || c == '\n') ? '\'' : c;
  return out + "\"";
}

std::string create_line(const IpSet& s, bool comments) {
  std::string line = fmt::format("create {} {}", s.name, s.type);
  if (s.type == "list:set") line += fmt::format(" size {}", s.list_size == 0 ? 1024 : s.list_size);
  if (comments) line += " comment";
  return line + "\n";
}

std::string add_line(const std::string& set, const std::string& entry, const std::string& comment, bool comments) {
  if (comments && !comment.empty()) return fmt::format("add {} {} comment {}\n", set, entry, quoted(comment));
  return fmt::format("add {} {}\n", set, entry);
}

}  // namespace

Scripts diff_plans(const Plan& from, const Plan& to, bool comments) {
  Scripts out;
  std::string creates, adds, list_adds, dels;
  for (const auto& [name, s] : to.sets) {
    auto old = from.sets.find(name);
    const bool existed = old != from.sets.end();
    if (!existed) {
      creates += create_line(s, comments);
      ++out.set_lines;
    }
    // list:set members name other sets: add them after every create and hash member.
    std::string& sink = s.type == "list:set" ? list_adds : adds;
    for (const auto& [entry, comment] : s.entries) {
      if (existed && old->second.entries.count(entry) != 0) continue;
      sink += add_line(name, entry, comment, comments);
      ++out.set_lines;
    }
    if (existed) {
      for (const auto& [entry, _] : old->second.entries) {
        if (s.entries.count(entry) == 0) {
          dels += fmt::format("del {} {}\n", name, entry);
          ++out.set_lines;
        }
      }
    }
  }
  out.ipset_pre = creates + adds + list_adds + dels;

  std::string rules_del, rules_add;
  static const std::vector<std::string> kNone;
  auto rules_of = [](const Plan& p, const std::string& chain) -> const std::vector<std::string>& {
    auto it = p.chains.find(chain);
    return it == p.chains.end() ? kNone : it->second;
  };
  for (const auto& chain : npc_chains()) {
    const auto& a = rules_of(from, chain);
    const auto& b = rules_of(to, chain);
    std::unordered_set<std::string> in_a(a.begin(), a.end()), in_b(b.begin(), b.end());
    for (const auto& r : a) {
      if (in_b.count(r) == 0) {
        rules_del += fmt::format("-D {} {}\n", chain, r);
        ++out.rule_lines;
      }
    }
    for (const auto& r : b) {
      if (in_a.count(r) == 0) {
        rules_add += fmt::format("-A {} {}\n", chain, r);
        ++out.rule_lines;
      }
    }
  }
  if (out.rule_lines != 0) out.iptables = "*filter\n" + rules_del + rules_add + "COMMIT\n";

  // A list:set must go before the sets it lists.
  std::string destroy_lists, destroy_rest;
  for (const auto& [name, s] : from.sets) {
    if (to.sets.count(name) != 0) continue;
    (s.type == "list:set" ? destroy_lists : destroy_rest) += fmt::format("destroy {}\n", name);
    ++out.set_lines;
  }
  out.ipset_post = destroy_lists + destroy_rest;
  return out;
}

std::string reset_chains_script() {
  std::string out = "*filter\n";
  for (const auto& c : npc_chains()) out += fmt::format(":{} - [0:0]\n", c);
  return out + "COMMIT\n";
}

std::string teardown_chains_script() {
  std::string out = reset_chains_script();
  out.resize(out.size() - std::string("COMMIT\n").size());
  for (const auto& c : npc_chains()) {
    if (c != kChainMain && c != kChainEgress) out += fmt::format("-X {}\n", c);
  }
  return out + "COMMIT\n";
}

std::string delete_hooked_chains_script() {
  return fmt::format("*filter\n-X {}\n-X {}\nCOMMIT\n", kChainMain, kChainEgress);
}

bool is_npc_set(const std::string& name) { return name.rfind("weave-", 0) == 0; }

std::string destroy_sets_script(const std::vector<std::string>& names) {
  std::string flush, destroy;
  for (const auto& n : names) {
    if (!is_npc_set(n)) continue;
    flush += fmt::format("flush {}\n", n);
    destroy += fmt::format("destroy {}\n", n);
  }
  return flush + destroy;
}

}  // namespace weft::npc
