#include "vectors.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace weft::test {
namespace {

bool is_hexdump_row(const std::string& l) {
  if (l.size() < 12) return false;
  for (int i = 0; i < 8; ++i) {
    if (!isxdigit(static_cast<unsigned char>(l[i]))) return false;
  }
  return l[8] == ' ' && l[9] == ' ';
}

}  // namespace

const Vectors& Vectors::get() {
  static const Vectors v = [] {
    Vectors out;
    std::ifstream in(WEFT_VECTORS_FILE);
    if (!in) {
      std::fprintf(stderr, "cannot open %s\n", WEFT_VECTORS_FILE);
      std::abort();
    }
    std::string line, current;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      if (is_hexdump_row(line)) {
        auto bar = line.find('|');
        auto hex = line.substr(10, bar == std::string::npos ? std::string::npos : bar - 10);
        auto b = from_hex(hex);
        if (!b || current.empty()) std::abort();
        auto& dst = out.sections_[current];
        dst.insert(dst.end(), b->begin(), b->end());
        continue;
      }
      if (line.rfind("== ", 0) == 0) {
        current = line.substr(3);
        auto paren = current.rfind(" (");
        if (paren != std::string::npos) current = current.substr(0, paren);
        continue;
      }
      if (line.back() == ':') {
        current = line.substr(0, line.size() - 1);
        continue;
      }
      auto eq = line.find('=');
      if (eq != std::string::npos) out.values_[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return out;
  }();
  return v;
}

const Bytes& Vectors::section(std::string_view name) const {
  if (auto it = sections_.find(std::string(name)); it != sections_.end()) return it->second;
  const Bytes* found = nullptr;
  for (auto& [k, v] : sections_) {
    if (k.rfind(name, 0) == 0) {
      if (found) {
        std::fprintf(stderr, "ambiguous vector section %.*s\n", int(name.size()), name.data());
        std::abort();
      }
      found = &v;
    }
  }
  if (!found) {
    std::fprintf(stderr, "no vector section %.*s\n", int(name.size()), name.data());
    std::abort();
  }
  return *found;
}

const std::string& Vectors::value(std::string_view key) const {
  auto it = values_.find(std::string(key));
  if (it == values_.end()) {
    std::fprintf(stderr, "no vector value %.*s\n", int(key.size()), key.data());
    std::abort();
  }
  return it->second;
}

Bytes Vectors::hex_value(std::string_view key) const {
  auto b = from_hex(value(key));
  if (!b) std::abort();
  return *b;
}

}  // namespace weft::test
