#pragma once
#include <fmt/format.h>

#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace weft {

/// An IPv4 address, host byte order inside.
class Ipv4 {
 public:
  constexpr Ipv4() = default;
  constexpr explicit Ipv4(std::uint32_t v) : v_(v) {}
  /// Strict dotted quad: four decimal octets 0..255, no leading '+', no extra characters.
  static std::optional<Ipv4> parse(std::string_view s);
  std::uint32_t value() const { return v_; }
  std::string str() const;
  auto operator<=>(const Ipv4&) const = default;

 private:
  std::uint32_t v_ = 0;
};

/// An address with a prefix length, `10.32.0.1/12`. Host bits are kept as given (Weave's `ip:` specs
/// carry them); network() gives the normalised block.
class Cidr {
 public:
  constexpr Cidr() = default;
  Cidr(Ipv4 addr, std::uint8_t prefix) : addr_(addr), prefix_(prefix > 32 ? 32 : prefix) {}
  static std::optional<Cidr> parse(std::string_view s);
  Ipv4 addr() const { return addr_; }
  std::uint8_t prefix() const { return prefix_; }
  std::uint32_t mask() const { return prefix_ == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix_); }
  Cidr network() const { return Cidr(Ipv4(addr_.value() & mask()), prefix_); }
  bool is_network() const { return (addr_.value() & ~mask()) == 0; }
  std::uint64_t size() const { return std::uint64_t{1} << (32 - prefix_); }
  bool contains(Ipv4 a) const { return (a.value() & mask()) == (addr_.value() & mask()); }
  std::string str() const;
  auto operator<=>(const Cidr&) const = default;

 private:
  Ipv4 addr_;
  std::uint8_t prefix_ = 0;
};

/// A half-open address range [start, end), as IPAM's Range. end may be 2^32 (stored as 64-bit).
class Ipv4Range {
 public:
  constexpr Ipv4Range() = default;
  constexpr Ipv4Range(std::uint64_t start, std::uint64_t end) : start_(start), end_(end) {}
  static Ipv4Range of(const Cidr& c) {
    auto n = c.network();
    return {n.addr().value(), n.addr().value() + n.size()};
  }
  /// "10.32.0.0-10.32.0.255" (inclusive text form) or a CIDR.
  static std::optional<Ipv4Range> parse(std::string_view s);
  std::uint64_t start() const { return start_; }
  std::uint64_t end() const { return end_; }
  std::uint64_t size() const { return end_ > start_ ? end_ - start_ : 0; }
  bool contains(Ipv4 a) const { return a.value() >= start_ && a.value() < end_; }
  bool overlaps(const Ipv4Range& o) const { return start_ < o.end_ && o.start_ < end_; }
  std::string str() const;
  auto operator<=>(const Ipv4Range&) const = default;

 private:
  std::uint64_t start_ = 0;
  std::uint64_t end_ = 0;
};

}  // namespace weft

template <>
struct std::hash<weft::Ipv4> {
  std::size_t operator()(const weft::Ipv4& a) const noexcept { return std::hash<std::uint32_t>{}(a.value()); }
};
template <>
struct std::hash<weft::Cidr> {
  std::size_t operator()(const weft::Cidr& c) const noexcept {
    return std::hash<std::uint64_t>{}((std::uint64_t{c.addr().value()} << 8) | c.prefix());
  }
};
template <>
struct std::hash<weft::Ipv4Range> {
  std::size_t operator()(const weft::Ipv4Range& r) const noexcept {
    return std::hash<std::uint64_t>{}(r.start() * 0x9E3779B97F4A7C15ull ^ r.end());
  }
};
#define WEFT_STR_FORMATTER(T)                                                     \
  template <>                                                                     \
  struct fmt::formatter<T> : fmt::formatter<std::string_view> {                  \
    auto format(const T& v, fmt::format_context& ctx) const {                     \
      return fmt::formatter<std::string_view>::format(v.str(), ctx);              \
    }                                                                             \
  };
WEFT_STR_FORMATTER(weft::Ipv4)
WEFT_STR_FORMATTER(weft::Cidr)
WEFT_STR_FORMATTER(weft::Ipv4Range)
