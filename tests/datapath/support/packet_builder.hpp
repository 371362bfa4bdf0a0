#pragma once
// PacketBuilder: hand-built Ethernet/IPv4/UDP frames for the datapath tests (house style R15).
// It computes lengths and checksums with its own code, not with datapath/core's, so golden tests
// do not check the library against itself.
#include <cstddef>
#include <cstdint>
#include <optional>

#include "weft/base/bytes.hpp"
#include "weft/base/ipv4.hpp"
#include "weft/base/mac.hpp"

namespace weft::datapath::test {

/// An independent RFC 1071 checksum (plain loop, folded at the end).
inline std::uint16_t ref_checksum(ByteSpan b, std::uint32_t sum = 0) {
  for (std::size_t i = 0; i < b.size(); i += 2) {
    sum += static_cast<std::uint32_t>(b[i] << 8) + (i + 1 < b.size() ? b[i + 1] : 0);
  }
  while ((sum >> 16) != 0) {
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<std::uint16_t>(~sum);
}

/// n bytes of a recognisable pattern (so misplaced bytes show up in a diff).
inline Bytes pattern(std::size_t n, std::uint8_t seed = 0) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) {
    b[i] = static_cast<std::uint8_t>(seed + i * 7 + (i >> 8));
  }
  return b;
}

inline Mac mac(std::uint8_t last) {
  return Mac({0x02, 0, 0, 0, 0, last});
}
inline Ipv4 ip(const char* s) {
  return *Ipv4::parse(s);
}

class PacketBuilder {
 public:
  PacketBuilder& eth(Mac dst, Mac src) {
    dst_ = dst;
    src_ = src;
    return *this;
  }
  PacketBuilder& vlan(std::uint16_t tci, std::uint16_t tpid = 0x8100) {
    tag_ = {tpid, tci};
    return *this;
  }
  /// A non-IPv4 frame with this ethertype and payload().
  PacketBuilder& ethertype(std::uint16_t t) {
    ethertype_ = t;
    ipv4_ = false;
    return *this;
  }
  PacketBuilder& ipv4(Ipv4 src, Ipv4 dst, std::uint8_t proto) {
    ip_src_ = src;
    ip_dst_ = dst;
    proto_ = proto;
    ipv4_ = true;
    ethertype_ = 0x0800;
    return *this;
  }
  PacketBuilder& tos(std::uint8_t v) {
    tos_ = v;
    return *this;
  }
  PacketBuilder& ttl(std::uint8_t v) {
    ttl_ = v;
    return *this;
  }
  PacketBuilder& id(std::uint16_t v) {
    id_ = v;
    return *this;
  }
  PacketBuilder& df(bool v = true) {
    df_ = v;
    return *this;
  }
  PacketBuilder& mf(bool v = true) {
    mf_ = v;
    return *this;
  }
  PacketBuilder& evil(bool v = true) {
    evil_ = v;
    return *this;
  }
  /// In 8-byte units, as on the wire.
  PacketBuilder& frag_offset(std::uint16_t units) {
    frag_offset_ = units;
    return *this;
  }
  /// Raw option bytes; must be a multiple of 4 long (pad with 0 = End-of-Options yourself).
  PacketBuilder& options(Bytes o) {
    options_ = std::move(o);
    return *this;
  }
  PacketBuilder& bad_checksum() {
    bad_checksum_ = true;
    return *this;
  }
  /// The L4 bytes (or, for non-IPv4, the bytes after the ethertype).
  PacketBuilder& payload(Bytes p) {
    payload_ = std::move(p);
    return *this;
  }
  /// A UDP header + data as payload, with a correct pseudo-header checksum.
  PacketBuilder& udp(std::uint16_t sport, std::uint16_t dport, const Bytes& data) {
    proto_ = 17;
    udp_ = true;
    Bytes p;
    ByteWriter w(p);
    w.u16be(sport);
    w.u16be(dport);
    w.u16be(static_cast<std::uint16_t>(8 + data.size()));
    w.u16be(0);
    w.put(data);
    payload_ = std::move(p);
    return *this;
  }
  /// Pads the finished frame with zeros to at least n bytes (Ethernet's 60-byte minimum).
  PacketBuilder& pad_to(std::size_t n) {
    pad_to_ = n;
    return *this;
  }

  Bytes build() const {
    Bytes out;
    ByteWriter w(out);
    w.put(dst_.bytes());
    w.put(src_.bytes());
    if (tag_) {
      w.u16be(tag_->first);
      w.u16be(tag_->second);
    }
    w.u16be(ethertype_);
    if (ipv4_) {
      Bytes ip;
      ByteWriter iw(ip);
      const std::size_t hlen = 20 + options_.size();
      iw.u8(static_cast<std::uint8_t>(0x40 | (hlen / 4)));
      iw.u8(tos_);
      iw.u16be(static_cast<std::uint16_t>(hlen + payload_.size()));
      iw.u16be(id_);
      iw.u16be(static_cast<std::uint16_t>((evil_ ? 0x8000 : 0) | (df_ ? 0x4000 : 0) |
                                          (mf_ ? 0x2000 : 0) | frag_offset_));
      iw.u8(ttl_);
      iw.u8(proto_);
      iw.u16be(0);
      iw.u32be(ip_src_.value());
      iw.u32be(ip_dst_.value());
      iw.put(options_);
      std::uint16_t c = ref_checksum(ip);
      if (bad_checksum_) {
        c ^= 0x5555;
      }
      ip[10] = static_cast<std::uint8_t>(c >> 8);
      ip[11] = static_cast<std::uint8_t>(c);
      Bytes l4 = payload_;
      if (udp_ && l4.size() >= 8) {
        std::uint32_t pseudo = (ip_src_.value() >> 16) + (ip_src_.value() & 0xffff) +
                               (ip_dst_.value() >> 16) + (ip_dst_.value() & 0xffff) + 17 +
                               static_cast<std::uint32_t>(l4.size());
        std::uint16_t uc = ref_checksum(l4, pseudo);
        if (uc == 0) {
          uc = 0xffff;
        }
        l4[6] = static_cast<std::uint8_t>(uc >> 8);
        l4[7] = static_cast<std::uint8_t>(uc);
      }
      w.put(ip);
      w.put(l4);
    } else {
      w.put(payload_);
    }
    if (out.size() < pad_to_) {
      out.resize(pad_to_, 0);
    }
    return out;
  }

 private:
  Mac dst_ = mac(2);
  Mac src_ = mac(1);
  std::optional<std::pair<std::uint16_t, std::uint16_t>> tag_;
  std::uint16_t ethertype_ = 0x0800;
  bool ipv4_ = true;
  Ipv4 ip_src_ = ip("10.32.0.1");
  Ipv4 ip_dst_ = ip("10.32.0.2");
  std::uint8_t proto_ = 17;
  std::uint8_t tos_ = 0;
  std::uint8_t ttl_ = 64;
  std::uint16_t id_ = 0x1234;
  bool df_ = false;
  bool mf_ = false;
  bool evil_ = false;
  std::uint16_t frag_offset_ = 0;
  Bytes options_;
  bool bad_checksum_ = false;
  bool udp_ = false;
  Bytes payload_;
  std::size_t pad_to_ = 0;
};

}  // namespace weft::datapath::test
