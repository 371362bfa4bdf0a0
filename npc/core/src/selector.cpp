#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "weft/npc/model.hpp"

namespace weft::npc {

std::string LabelSelector::key() const {
  std::string out;
  for (const auto& r : reqs) {
    if (!out.empty()) out += ',';
    switch (r.op) {
      case Requirement::Op::equals:
        out += fmt::format("{}={}", r.key, r.values.empty() ? std::string() : r.values.front());
        break;
      case Requirement::Op::in:
        out += fmt::format("{} in ({})", r.key, fmt::join(r.values, ","));
        break;
      case Requirement::Op::not_in:
        out += fmt::format("{} notin ({})", r.key, fmt::join(r.values, ","));
        break;
      case Requirement::Op::exists:
        out += r.key;
        break;
      case Requirement::Op::does_not_exist:
        out += "!" + r.key;
        break;
    }
  }
  return out;
}

bool LabelSelector::matches(const Labels& labels) const {
  for (const auto& r : reqs) {
    auto it = labels.find(r.key);
    const bool has = it != labels.end();
    const auto in_values = [&] {
      return has && std::binary_search(r.values.begin(), r.values.end(), it->second);
    };
    switch (r.op) {
      case Requirement::Op::equals:
      case Requirement::Op::in:
        if (!in_values()) return false;
        break;
      case Requirement::Op::not_in:
        if (in_values()) return false;
        break;
      case Requirement::Op::exists:
        if (!has) return false;
        break;
      case Requirement::Op::does_not_exist:
        if (has) return false;
        break;
    }
  }
  return true;
}

}  // namespace weft::npc
