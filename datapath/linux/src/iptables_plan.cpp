#include "weft/datapath/linux/iptables_plan.hpp"

#include <algorithm>
#include <array>
#include <set>

#include <fmt/format.h>

namespace weft::datapath::host {

namespace {

IptRule rule(std::string table, std::string chain, std::string spec) {
  return {std::move(table), std::move(chain), std::move(spec)};
}

/// Splits a rule the way a shell (our spec texts) or iptables-save (backslash escapes inside
/// double quotes) would. nullopt on an unbalanced quote.
std::optional<std::vector<std::string>> split_words(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < s.size()) {
        cur += s[++i];
      } else {
        cur += c;
      }
      continue;
    }
    if (c == ' ' || c == '\t') {
      if (in_word) out.push_back(std::move(cur));
      cur.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '\\' && i + 1 < s.size()) {
      cur += s[++i];
    } else {
      cur += c;
    }
  }
  if (quote != 0) return std::nullopt;
  if (in_word) out.push_back(std::move(cur));
  return out;
}

/// The canonical letter of a core (non-match) option, or 0.
char core_option(std::string_view w) {
  if (w == "-s" || w == "--source" || w == "--src") return 's';
  if (w == "-d" || w == "--destination" || w == "--dst") return 'd';
  if (w == "-i" || w == "--in-interface") return 'i';
  if (w == "-o" || w == "--out-interface") return 'o';
  if (w == "-p" || w == "--protocol") return 'p';
  return 0;
}

std::string normal_address(const std::string& v) {
  auto c = Cidr::parse(v.find('/') == std::string::npos ? v + "/32" : v);
  return c ? c->network().str() : v;
}

/// Quotes a word for iptables-restore input when it has a space.
std::string quote_word(const std::string& w) {
  if (w.find_first_of(" \t\"'") == std::string::npos && !w.empty()) return w;
  std::string q = "\"";
  for (char c : w) {
    if (c == '"' || c == '\\') q += '\\';
    q += c;
  }
  return q + "\"";
}

/// Rule words (canonical_rule's split) -> the chain a rule jumps to, or "".
std::string jump_target(const std::string& canonical) {
  auto words = split_words(canonical);
  if (!words) return {};
  for (std::size_t i = 0; i + 1 < words->size(); ++i) {
    if ((*words)[i] == "-j" || (*words)[i] == "-g") return (*words)[i + 1];
  }
  return {};
}

std::vector<std::string> tables_of(const RulePlan& plan) {
  std::vector<std::string> out;
  auto add = [&](const std::string& t) {
    if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
  };
  for (const auto& c : plan.chains) add(c.table);
  for (const auto& r : plan.top) add(r.table);
  for (const auto& r : plan.append) add(r.table);
  return out;
}

const SavedTable& table_or_empty(const SavedTables& now, const std::string& table) {
  static const SavedTable empty;
  auto it = now.find(table);
  return it == now.end() ? empty : it->second;
}

const std::vector<std::string>& rules_or_empty(const SavedTable& t, const std::string& chain) {
  static const std::vector<std::string> empty;
  auto it = t.canonical.find(chain);
  return it == t.canonical.end() ? empty : it->second;
}

std::size_t count(const std::vector<std::string>& v, const std::string& s) {
  return static_cast<std::size_t>(std::count(v.begin(), v.end(), s));
}

std::string wrap_table(const std::string& table, const std::vector<std::string>& lines) {
  if (lines.empty()) return {};
  std::string out = "*" + table + "\n";
  for (const auto& l : lines) out += l + "\n";
  return out + "COMMIT\n";
}

std::string npc_comment() { return "\"NOTE: this must go before '-j KUBE-FORWARD'\""; }

}  // namespace

std::vector<IptRule> RulePlan::rules() const {
  std::vector<IptRule> out = top;
  out.insert(out.end(), append.begin(), append.end());
  return out;
}

void RulePlan::merge(const RulePlan& other) {
  auto add = [](auto& into, const auto& from) {
    for (const auto& x : from) {
      if (std::find(into.begin(), into.end(), x) == into.end()) into.push_back(x);
    }
  };
  add(chains, other.chains);
  add(top, other.top);
  add(append, other.append);
}

RulePlan router_rules(const RouterRulesConfig& cfg) {
  const std::string& br = cfg.bridge;
  RulePlan p;
  // filter FORWARD, kept at the top in this order (spec §11.8; the NPC texts as kube-spec §3.8).
  if (!cfg.docker_bridge.empty() && cfg.docker_bridge != br) {
    p.top.push_back(rule("filter", "FORWARD", fmt::format("-i {} -o {} -j DROP", cfg.docker_bridge, br)));
  }
  if (cfg.expect_npc) {
    p.chains.push_back({"filter", std::string(kNpcChain), ChainOwner::npc});
    p.chains.push_back({"filter", std::string(kNpcEgressChain), ChainOwner::npc});
    p.top.push_back(rule("filter", "FORWARD",
                         fmt::format("-i {} -m comment --comment {} -j {}", br, npc_comment(), kNpcEgressChain)));
    p.top.push_back(
        rule("filter", "FORWARD", fmt::format("-o {} -m comment --comment {} -j {}", br, npc_comment(), kNpcChain)));
    p.top.push_back(rule("filter", "FORWARD",
                         fmt::format("-o {} -m state --state NEW -j NFLOG --nflog-group {}", br, kNpcNflogGroup)));
    p.top.push_back(rule("filter", "FORWARD", fmt::format("-o {} -j DROP", br)));
  } else {
    p.chains.push_back({"filter", std::string(kExposeChain), ChainOwner::weft});
    p.top.push_back(rule("filter", "FORWARD", fmt::format("-i {} -o {} -j ACCEPT", br, br)));
    p.top.push_back(rule("filter", "FORWARD", fmt::format("-o {} -j {}", br, kExposeChain)));
  }
  p.top.push_back(rule("filter", "FORWARD", fmt::format("-i {} ! -o {} -j ACCEPT", br, br)));
  p.top.push_back(
      rule("filter", "FORWARD", fmt::format("-o {} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", br)));

  // filter INPUT (appended when missing).
  if (!cfg.docker_bridge.empty()) {
    const std::string& d = cfg.docker_bridge;
    if (cfg.docker_bridge_ip) {
      auto ip = cfg.docker_bridge_ip->str();
      p.append.push_back(rule("filter", "INPUT", fmt::format("-i {} -p tcp --dst {} --dport {} -j DROP", d, ip, cfg.port)));
      p.append.push_back(rule("filter", "INPUT", fmt::format("-i {} -p udp --dst {} --dport {} -j DROP", d, ip, cfg.port)));
      p.append.push_back(
          rule("filter", "INPUT", fmt::format("-i {} -p udp --dst {} --dport {} -j DROP", d, ip, cfg.port + 1)));
    }
    p.append.push_back(rule("filter", "INPUT", fmt::format("-i {} -p udp --dport 53 -j ACCEPT", d)));
    p.append.push_back(rule("filter", "INPUT", fmt::format("-i {} -p tcp --dport 53 -j ACCEPT", d)));
  }
  if (cfg.control_port) {
    p.append.push_back(rule("filter", "INPUT",
                            fmt::format("-p tcp --dst 127.0.0.1 --dport {} -m addrtype ! --src-type LOCAL -m conntrack "
                                        "! --ctstate RELATED,ESTABLISHED -m comment --comment \"Block non-local access "
                                        "to Weave Net control port\" -j DROP",
                                        *cfg.control_port)));
  }
  if (cfg.expect_npc) {
    p.append.push_back(rule("filter", "INPUT", fmt::format("-i {} -j {}", br, kNpcEgressChain)));
  }

  // nat: WEAVE from POSTROUTING; --no-masq-local's RETURN ahead of any expose rule.
  p.chains.push_back({"nat", std::string(kNatChain), ChainOwner::weft});
  p.append.push_back(rule("nat", "POSTROUTING", fmt::format("-j {}", kNatChain)));
  if (cfg.no_masq_local) {
    p.top.push_back(rule("nat", std::string(kNatChain),
                         fmt::format("-m set --match-set {} dst -m comment --comment \"Prevent SNAT to locally running "
                                     "containers\" -j RETURN",
                                     kNoMasqLocalSet)));
  }
  return p;
}

RulePlan expose_rules(const RouterRulesConfig& cfg, const Cidr& exposed, bool nat) {
  auto c = exposed.network().str();
  RulePlan p;
  if (nat) {
    std::string ch(kNatChain);
    p.append.push_back(rule("nat", ch, fmt::format("-s {} -d 224.0.0.0/4 -j RETURN", c)));
    p.append.push_back(rule("nat", ch, fmt::format("! -s {} -d {} -j MASQUERADE", c, c)));
    p.append.push_back(rule("nat", ch, fmt::format("-s {} ! -d {} -j MASQUERADE", c, c)));
  }
  if (!cfg.expect_npc) p.append.push_back(rule("filter", std::string(kExposeChain), fmt::format("-d {} -j ACCEPT", c)));
  return p;
}

RulePlan reset_rules(const RouterRulesConfig& cfg) {
  auto with = cfg;
  with.expect_npc = false;
  RulePlan p = router_rules(with);
  with.expect_npc = true;
  with.no_masq_local = true;
  p.merge(router_rules(with));
  return p;
}

std::string canonical_rule(std::string_view spec) {
  auto words = split_words(spec);
  if (!words) return {};
  std::array<std::optional<std::pair<bool, std::string>>, 5> core;  // s d i o p
  constexpr std::string_view kOrder = "sdiop";
  std::vector<std::string> rest;
  bool negate = false;
  for (std::size_t i = 0; i < words->size(); ++i) {
    const auto& w = (*words)[i];
    if (w == "!") {
      negate = true;
      continue;
    }
    char opt = core_option(w);
    if (opt != 0 && i + 1 < words->size()) {
      std::string v = (*words)[++i];
      if (opt == 's' || opt == 'd') v = normal_address(v);
      if (opt == 'p') std::transform(v.begin(), v.end(), v.begin(), [](unsigned char ch) { return std::tolower(ch); });
      core[kOrder.find(opt)] = std::make_pair(negate, v);
      negate = false;
      continue;
    }
    if (negate) rest.emplace_back("!");
    negate = false;
    rest.push_back(w);
  }
  // iptables adds "-m tcp" / "-m udp" for --dport and --sport after -p; drop it on both sides.
  if (const auto& p = core[4]; p && !p->first) {
    for (std::size_t i = 0; i + 1 < rest.size(); ++i) {
      if (rest[i] == "-m" && rest[i + 1] == p->second) {
        rest.erase(rest.begin() + static_cast<long>(i), rest.begin() + static_cast<long>(i) + 2);
        break;
      }
    }
  }
  std::string out;
  auto add = [&](const std::string& w) {
    if (!out.empty()) out += ' ';
    out += quote_word(w);
  };
  for (std::size_t k = 0; k < core.size(); ++k) {
    if (!core[k]) continue;
    if (core[k]->first) add("!");
    add(std::string("-") + kOrder[k]);
    add(core[k]->second);
  }
  for (const auto& w : rest) add(w);
  return out;
}

bool SavedTable::has_chain(std::string_view name) const {
  return std::find(chains.begin(), chains.end(), name) != chains.end();
}

Result<SavedTables> parse_save(std::string_view text) {
  SavedTables out;
  SavedTable* cur = nullptr;
  std::size_t lineno = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++lineno;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '*') {
      cur = &out[std::string(line.substr(1))];
      continue;
    }
    if (line == "COMMIT") {
      cur = nullptr;
      continue;
    }
    if (cur == nullptr) return make_error("iptables-save line {}: {:?} outside a table", lineno, line);
    if (line[0] == ':') {
      auto sp = line.find(' ');
      cur->chains.emplace_back(line.substr(1, sp == std::string_view::npos ? std::string_view::npos : sp - 1));
      continue;
    }
    if (line.starts_with("-A ")) {
      auto rest = line.substr(3);
      auto sp = rest.find(' ');
      std::string chain(rest.substr(0, sp));
      std::string spec(sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1));
      cur->canonical[chain].push_back(canonical_rule(spec));
      cur->raw[chain].push_back(std::move(spec));
      continue;
    }
    return make_error("iptables-save line {}: unexpected {:?}", lineno, line);
  }
  return out;
}

std::string apply_batch(const RulePlan& plan, const SavedTables& now) {
  std::string out;
  for (const auto& table : tables_of(plan)) {
    const SavedTable& t = table_or_empty(now, table);
    std::vector<std::string> lines;
    std::set<std::string> declared;
    for (const auto& c : plan.chains) {
      if (c.table != table || t.has_chain(c.name) || declared.count(c.name)) continue;
      declared.insert(c.name);
      // NB: only for missing chains: with --noflush, declaring an existing chain flushes it.
      lines.push_back(fmt::format(":{} - [0:0]", c.name));
    }
    // Top blocks, chain by chain in first-mention order.
    std::vector<std::string> top_chains;
    for (const auto& r : plan.top) {
      if (r.table == table && std::find(top_chains.begin(), top_chains.end(), r.chain) == top_chains.end()) {
        top_chains.push_back(r.chain);
      }
    }
    for (const auto& chain : top_chains) {
      std::vector<const IptRule*> block;
      std::vector<std::string> want;
      for (const auto& r : plan.top) {
        if (r.table == table && r.chain == chain) {
          block.push_back(&r);
          want.push_back(canonical_rule(r.spec));
        }
      }
      const auto& have = rules_or_empty(t, chain);
      bool in_place = std::search(have.begin(), have.end(), want.begin(), want.end()) != have.end();
      if (in_place) continue;
      for (std::size_t k = 0; k < block.size(); ++k) {
        for (std::size_t n = count(have, want[k]); n > 0; --n) lines.push_back(fmt::format("-D {} {}", chain, block[k]->spec));
      }
      for (std::size_t k = 0; k < block.size(); ++k) {
        lines.push_back(fmt::format("-I {} {} {}", chain, k + 1, block[k]->spec));
      }
    }
    std::set<std::pair<std::string, std::string>> appended;
    for (const auto& r : plan.append) {
      if (r.table != table) continue;
      auto c = canonical_rule(r.spec);
      if (count(rules_or_empty(t, r.chain), c) > 0 || !appended.insert({r.chain, c}).second) continue;
      lines.push_back(fmt::format("-A {} {}", r.chain, r.spec));
    }
    out += wrap_table(table, lines);
  }
  return out;
}

std::string remove_batch(const RulePlan& plan, const SavedTables& now) {
  std::string out;
  for (const auto& table : tables_of(plan)) {
    auto it = now.find(table);
    if (it == now.end()) continue;
    const SavedTable& t = it->second;
    // What is left of each chain as we go: deletions below remove entries from here.
    std::map<std::string, std::vector<std::string>> left = t.canonical;
    std::vector<std::string> lines;
    auto delete_all = [&](const std::string& chain, const std::string& canonical, const std::string& text) {
      auto& v = left[chain];
      for (auto pos = std::find(v.begin(), v.end(), canonical); pos != v.end();
           pos = std::find(v.begin(), v.end(), canonical)) {
        lines.push_back(fmt::format("-D {} {}", chain, text));
        v.erase(pos);
      }
    };
    std::set<std::string> owned;
    for (const auto& c : plan.chains) {
      if (c.table == table && c.owner == ChainOwner::weft && t.has_chain(c.name)) owned.insert(c.name);
    }
    for (const auto& r : plan.rules()) {
      if (r.table != table || owned.count(r.chain)) continue;  // owned chains are flushed whole
      delete_all(r.chain, canonical_rule(r.spec), r.spec);
    }
    // Anything else that jumps to a chain we own would keep it from being deleted.
    for (const auto& [chain, raws] : t.raw) {
      if (owned.count(chain)) continue;
      for (std::size_t k = 0; k < raws.size(); ++k) {
        const auto& canon = t.canonical.at(chain)[k];
        if (owned.count(jump_target(canon))) delete_all(chain, canon, raws[k]);
      }
    }
    for (const auto& name : owned) lines.push_back(fmt::format("-F {}", name));
    for (const auto& name : owned) lines.push_back(fmt::format("-X {}", name));
    for (const auto& c : plan.chains) {
      if (c.table != table || c.owner != ChainOwner::npc || !t.has_chain(c.name)) continue;
      if (!left[c.name].empty()) continue;
      bool referenced = false;
      for (const auto& [chain, rules] : left) {
        for (const auto& r : rules) referenced = referenced || jump_target(r) == c.name;
      }
      if (!referenced) lines.push_back(fmt::format("-X {}", c.name));
    }
    out += wrap_table(table, lines);
  }
  return out;
}

std::vector<Cidr> range_cidrs(const Ipv4Range& r) {
  std::vector<Cidr> out;
  std::uint64_t start = r.start();
  const std::uint64_t end = std::min<std::uint64_t>(r.end(), std::uint64_t{1} << 32);
  while (start < end) {
    int prefix = 32;
    // Grow the block while it stays aligned and inside the range.
    while (prefix > 0) {
      std::uint64_t size = std::uint64_t{1} << (32 - (prefix - 1));
      if (start % size != 0 || start + size > end) break;
      --prefix;
    }
    out.emplace_back(Ipv4(static_cast<std::uint32_t>(start)), static_cast<std::uint8_t>(prefix));
    start += std::uint64_t{1} << (32 - prefix);
  }
  return out;
}

}  // namespace weft::datapath::host
