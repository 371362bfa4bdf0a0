// Parsing and formatting of the base value types.
#include <sodium.h>

#include <charconv>
#include <cstdio>
#include <vector>

#include "weft/base/ipv4.hpp"
#include "weft/base/mac.hpp"
#include "weft/base/peer_name.hpp"
#include "weft/base/short_id.hpp"
#include "weft/base/strings.hpp"

namespace weft {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Parses 1-2 hex digits; nullopt otherwise.
std::optional<std::uint8_t> parse_hex_octet(std::string_view s) {
  if (s.empty() || s.size() > 2) return std::nullopt;
  int v = 0;
  for (char c : s) {
    int d = hex_digit(c);
    if (d < 0) return std::nullopt;
    v = v * 16 + d;
  }
  return static_cast<std::uint8_t>(v);
}


std::optional<std::uint64_t> parse_dec(std::string_view s, std::uint64_t max) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > max) return std::nullopt;
  return v;
}

}  // namespace

// ---- Mac
Mac Mac::from_bytes(ByteSpan six) {
  std::array<std::uint8_t, 6> b{};
  for (int i = 0; i < 6; ++i) b[i] = six[i];
  return Mac(b);
}

std::optional<Mac> Mac::parse(std::string_view s) {
  char sep = s.find('-') != std::string_view::npos ? '-' : ':';
  auto parts = split(s, sep);
  if (parts.size() != 6) return std::nullopt;
  std::array<std::uint8_t, 6> b{};
  for (int i = 0; i < 6; ++i) {
    if (parts[i].size() != 2) return std::nullopt;
    auto o = parse_hex_octet(parts[i]);
    if (!o) return std::nullopt;
    b[i] = *o;
  }
  return Mac(b);
}

std::uint64_t Mac::as_u64() const {
  std::uint64_t v = 0;
  for (auto c : b_) v = (v << 8) | c;
  return v;
}

bool Mac::is_broadcast() const {
  for (auto c : b_) {
    if (c != 0xff) return false;
  }
  return true;
}

bool Mac::is_zero() const { return as_u64() == 0; }

std::string Mac::str() const {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b_[0], b_[1], b_[2], b_[3], b_[4], b_[5]);
}

// ---- PeerName
std::optional<PeerName> PeerName::parse(std::string_view s) {
  // Full form: six groups. Abbreviated: one "::" standing for one or more zero groups.
  auto dbl = s.find("::");
  std::array<std::uint8_t, 6> b{};
  if (dbl == std::string_view::npos) {
    auto parts = split(s, ':');
    if (parts.size() != 6) return std::nullopt;
    for (int i = 0; i < 6; ++i) {
      auto o = parse_hex_octet(parts[i]);
      if (!o) return std::nullopt;
      b[i] = *o;
    }
    return PeerName(Mac(b).as_u64());
  }
  auto left_s = s.substr(0, dbl);
  auto right_s = s.substr(dbl + 2);
  if (right_s.find("::") != std::string_view::npos) return std::nullopt;
  std::vector<std::string_view> left, right;
  if (!left_s.empty()) left = split(left_s, ':');
  if (!right_s.empty()) right = split(right_s, ':');
  if (left.size() + right.size() > 5) return std::nullopt;
  for (std::size_t i = 0; i < left.size(); ++i) {
    auto o = parse_hex_octet(left[i]);
    if (!o) return std::nullopt;
    b[i] = *o;
  }
  for (std::size_t i = 0; i < right.size(); ++i) {
    auto o = parse_hex_octet(right[i]);
    if (!o) return std::nullopt;
    b[6 - right.size() + i] = *o;
  }
  return PeerName(Mac(b).as_u64());
}

std::optional<PeerName> PeerName::from_bytes(ByteSpan b) {
  if (b.size() != 6) return std::nullopt;
  return PeerName(Mac::from_bytes(b).as_u64());
}

PeerName PeerName::from_system_id(ByteSpan id) {
  static constexpr std::string_view kSalt = "9oBJ0Jmip-";
  Bytes in(kSalt.begin(), kSalt.end());
  in.insert(in.end(), id.begin(), id.end());
  std::uint8_t h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, in.data(), in.size());
  h[0] = static_cast<std::uint8_t>((h[0] & 0xFE) | 0x02);
  return PeerName(Mac::from_bytes(ByteSpan(h, 6)).as_u64());
}

PeerName PeerName::random(Random& rng) {
  std::array<std::uint8_t, 6> b{};
  rng.fill(b);
  b[0] = static_cast<std::uint8_t>((b[0] & 0xFE) | 0x02);
  return PeerName(Mac(b).as_u64());
}

Mac PeerName::mac() const {
  std::array<std::uint8_t, 6> b{};
  for (int i = 0; i < 6; ++i) b[i] = static_cast<std::uint8_t>(v_ >> (40 - 8 * i));
  return Mac(b);
}

Bytes PeerName::to_bytes() const {
  auto m = mac().bytes();
  return Bytes(m.begin(), m.end());
}

std::string PeerName::str() const { return mac().str(); }

// ---- ShortID
std::optional<ShortID> ShortID::from_uint(std::uint64_t v) {
  if (v > kMax) return std::nullopt;
  return ShortID(static_cast<std::uint16_t>(v));
}

std::optional<ShortID> ShortID::parse(std::string_view s) {
  auto v = parse_dec(s, kMax);
  if (!v) return std::nullopt;
  return ShortID(static_cast<std::uint16_t>(*v));
}

// ---- Ipv4 / Cidr / Ipv4Range
std::optional<Ipv4> Ipv4::parse(std::string_view s) {
  auto parts = split(s, '.');
  if (parts.size() != 4) return std::nullopt;
  std::uint32_t v = 0;
  for (auto p : parts) {
    if (p.empty() || p.size() > 3) return std::nullopt;
    auto o = parse_dec(p, 255);
    if (!o) return std::nullopt;
    v = (v << 8) | static_cast<std::uint32_t>(*o);
  }
  return Ipv4(v);
}

std::string Ipv4::str() const {
  return fmt::format("{}.{}.{}.{}", v_ >> 24, (v_ >> 16) & 255, (v_ >> 8) & 255, v_ & 255);
}

std::optional<Cidr> Cidr::parse(std::string_view s) {
  auto slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto a = Ipv4::parse(s.substr(0, slash));
  auto plen = s.substr(slash + 1);
  if (!a || plen.empty() || plen.size() > 2) return std::nullopt;
  auto p = parse_dec(plen, 32);
  if (!p) return std::nullopt;
  return Cidr(*a, static_cast<std::uint8_t>(*p));
}

std::string Cidr::str() const { return fmt::format("{}/{}", addr_.str(), prefix_); }

std::optional<Ipv4Range> Ipv4Range::parse(std::string_view s) {
  if (auto c = Cidr::parse(s)) return Ipv4Range::of(*c);
  auto dash = s.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto a = Ipv4::parse(s.substr(0, dash));
  auto b = Ipv4::parse(s.substr(dash + 1));
  if (!a || !b || b->value() < a->value()) return std::nullopt;
  return Ipv4Range(a->value(), std::uint64_t{b->value()} + 1);
}

std::string Ipv4Range::str() const {
  if (size() == 0) return fmt::format("{}-empty", Ipv4(static_cast<std::uint32_t>(start_)).str());
  return fmt::format("{}-{}", Ipv4(static_cast<std::uint32_t>(start_)).str(),
                     Ipv4(static_cast<std::uint32_t>(end_ - 1)).str());
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    auto p = s.find(sep, start);
    if (p == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, p - start));
    start = p + 1;
  }
}

}  // namespace weft
