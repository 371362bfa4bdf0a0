#include "weft/datapath/fragment.hpp"

#include <algorithm>
#include <array>

#include "weft/datapath/ipv4_header.hpp"
#include "wire.hpp"

namespace weft::datapath {

namespace {

constexpr std::uint8_t kOptEnd = 0;
constexpr std::uint8_t kOptNop = 1;
constexpr std::uint8_t kOptCopied = 0x80;
constexpr std::size_t kMaxOptions = 40;

/// The options a non-first fragment carries (RFC 791: those with the copied flag), padded with
/// End-of-Options to a multiple of 4. False if the option list is malformed.
bool copied_options(std::span<const std::uint8_t> opts, std::array<std::uint8_t, kMaxOptions>& buf,
                    std::size_t& len) {
  len = 0;
  std::size_t i = 0;
  while (i < opts.size()) {
    const std::uint8_t type = opts[i];
    if (type == kOptEnd) {
      break;
    }
    if (type == kOptNop) {
      ++i;
      continue;
    }
    if (i + 1 >= opts.size()) {
      return false;
    }
    const std::size_t olen = opts[i + 1];
    if (olen < 2 || i + olen > opts.size()) {
      return false;
    }
    if ((type & kOptCopied) != 0) {
      std::copy_n(opts.begin() + static_cast<std::ptrdiff_t>(i), olen,
                  buf.begin() + static_cast<std::ptrdiff_t>(len));
      len += olen;
    }
    i += olen;
  }
  while (len % 4 != 0) {
    buf[len++] = kOptEnd;
  }
  return true;
}

}  // namespace

bool fragment_ipv4(const FrameView& frame, std::uint16_t mtu, Bytes& arena,
                   std::vector<std::span<const std::uint8_t>>& out) {
  out.clear();
  auto f = parse_ipv4_frame(frame);
  if (!f || f->ip.df) {
    return false;
  }
  const std::size_t hlen = f->ip.header_len();
  std::array<std::uint8_t, kMaxOptions> later_opts{};
  std::size_t later_opts_len = 0;
  if (!copied_options(f->options, later_opts, later_opts_len)) {
    return false;
  }
  const std::size_t l2 = f->eth.header_len;
  if (f->ip.total_length <= mtu) {
    arena.resize(l2 + f->packet.size());
    std::copy(f->l2.begin(), f->l2.end(), arena.begin());
    std::copy(f->packet.begin(), f->packet.end(), arena.begin() + static_cast<std::ptrdiff_t>(l2));
    out.emplace_back(arena);
    return true;
  }
  if (mtu < hlen + 8) {
    return false;
  }
  const std::size_t piece = (mtu - hlen) & ~std::size_t{7};
  const std::size_t base = f->ip.frag_offset_bytes();
  const std::size_t total = f->payload.size();
  const std::size_t count = (total + piece - 1) / piece;
  // NB: a hostile fragment can claim an offset whose later pieces no longer fit the 13-bit field;
  // such an input is refused as a whole (the last piece has the largest offset).
  if (count == 0 || (base + (count - 1) * piece) / 8 > 0x1fff) {
    return false;
  }
  const std::size_t later_hlen = kIpv4MinHeaderLen + later_opts_len;
  arena.resize(count * l2 + hlen + (count - 1) * later_hlen + total);
  std::size_t at = 0;
  for (std::size_t from = 0; from < total; from += piece) {
    const std::size_t n = std::min(piece, total - from);
    const bool last = from + n == total;
    const bool first = from == 0;
    const std::size_t this_hlen = first ? hlen : later_hlen;
    const std::size_t offset = base + from;
    std::span<std::uint8_t> s = std::span(arena).subspan(at, l2 + this_hlen + n);
    at += s.size();
    std::copy(f->l2.begin(), f->l2.end(), s.begin());
    auto ip = s.subspan(l2);
    std::copy_n(f->packet.begin(), kIpv4MinHeaderLen, ip.begin());
    if (first) {
      std::copy(f->options.begin(), f->options.end(), ip.begin() + kIpv4MinHeaderLen);
    } else {
      std::copy_n(later_opts.begin(), later_opts_len, ip.begin() + kIpv4MinHeaderLen);
    }
    ip[0] = static_cast<std::uint8_t>(0x40 | (this_hlen / 4));
    detail::put16(ip, 2, static_cast<std::uint16_t>(this_hlen + n));
    std::uint16_t flags = static_cast<std::uint16_t>(offset / 8);
    if (f->ip.reserved_flag) {
      flags |= 0x8000;
    }
    if (!last || f->ip.mf) {
      flags |= 0x2000;
    }
    detail::put16(ip, 6, flags);
    detail::fix_ipv4_checksum(ip);
    std::copy_n(f->payload.begin() + static_cast<std::ptrdiff_t>(from), n,
                ip.begin() + static_cast<std::ptrdiff_t>(this_hlen));
    out.emplace_back(s);
  }
  return true;
}

bool fragment_ipv4(const FrameView& frame, std::uint16_t mtu, std::vector<Bytes>& out) {
  Bytes arena;
  std::vector<std::span<const std::uint8_t>> views;
  if (!fragment_ipv4(frame, mtu, arena, views)) {
    return false;
  }
  for (auto v : views) {
    out.emplace_back(v.begin(), v.end());
  }
  return true;
}

}  // namespace weft::datapath
