#include "weft/router/superframe.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

namespace weft::router {
namespace {

void put_u32(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
}
void put_u64(std::uint8_t* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (56 - 8 * i));
}
void put_name(std::uint8_t* p, PeerName n) {
  auto b = n.mac().bytes();
  std::memcpy(p, b.data(), 6);
}

bool aes_available() {
  static const bool ok = sodium_init() >= 0 && crypto_aead_aes256gcm_is_available() != 0;
  return ok;
}

}  // namespace

std::string_view aead_name(Aead a) {
  switch (a) {
    case Aead::none: return "none";
    case Aead::aes256gcm: return "aes256gcm";
    case Aead::chacha20poly1305: return "chacha20poly1305";
  }
  return "?";
}

std::string extended_overlay_offer() {
  std::string s = "1";
  if (aes_available()) s += " aes256gcm";
  s += " chacha20poly1305";
  return s;
}

std::optional<Aead> negotiate_extended(const std::vector<std::string>& ours,
                                       const std::optional<std::vector<std::string>>& theirs) {
  if (ours.empty() || !theirs || theirs->empty()) return std::nullopt;
  if (ours[0] != "1" || (*theirs)[0] != "1") return std::nullopt;
  for (std::size_t i = 1; i < ours.size(); ++i) {
    if (std::find(theirs->begin() + 1, theirs->end(), ours[i]) == theirs->end()) continue;
    if (ours[i] == "aes256gcm") return Aead::aes256gcm;
    if (ours[i] == "chacha20poly1305") return Aead::chacha20poly1305;
  }
  return std::nullopt;  // no common AEAD: a peer we cannot seal for; keep the sleeve
}

bool is_extended_fragment(std::span<const std::uint8_t> d) {
  return d.size() >= 14 && std::equal(kExtMarker.begin(), kExtMarker.end(), d.begin() + 6);
}

std::optional<ExtFragment> parse_extended_fragment(std::span<const std::uint8_t> d) {
  if (d.size() <= kExtHeaderLen || !is_extended_fragment(d)) return std::nullopt;
  // NB: the size check above makes every read below succeed.
  ByteReader r(d);
  ExtFragment f;
  f.sender = *PeerName::from_bytes(*r.take(6));
  r.take(kExtMarker.size());
  const std::uint8_t flags = *r.u8();
  const std::uint8_t aead = *r.u8();
  if ((flags >> 4) != kExtVersion || (flags & 0x0E) != 0 || aead > 2) return std::nullopt;
  f.sealed = (flags & 1) != 0;
  f.aead = static_cast<Aead>(aead);
  if (f.sealed != (f.aead != Aead::none)) return std::nullopt;
  f.index = *r.u8();
  f.count = *r.u8();
  if (f.count == 0 || f.index >= f.count) return std::nullopt;
  f.id = *r.u64be();
  f.src = *PeerName::from_bytes(*r.take(6));
  f.dst = *PeerName::from_bytes(*r.take(6));
  f.total = *r.u32be();
  f.offset = *r.u32be();
  f.vnet = *datapath::parse_vnet_header(*r.take(datapath::kVnetHeaderLen));
  f.chunk = r.rest();
  if (f.total > kExtMaxTotal || (f.sealed && f.total <= kExtTagLen)) return std::nullopt;
  if (std::uint64_t{f.offset} + f.chunk.size() > f.total) return std::nullopt;
  return f;
}

std::array<std::uint8_t, 28> extended_ad(bool sealed, Aead aead, PeerName src, PeerName dst, std::uint32_t total,
                                         const datapath::VnetHeader& vnet) {
  std::array<std::uint8_t, 28> ad{};
  ad[0] = static_cast<std::uint8_t>((kExtVersion << 4) | (sealed ? 1 : 0));
  ad[1] = static_cast<std::uint8_t>(aead);
  put_name(ad.data() + 2, src);
  put_name(ad.data() + 8, dst);
  put_u32(ad.data() + 14, total);
  datapath::write_vnet_header(vnet, std::span(ad).subspan(18));
  return ad;
}

// ---- sealing

ExtSealer::ExtSealer(const mesh::SessionKey& session, Aead aead, bool we_are_outbound)
    : aead_(aead), outbound_(we_are_outbound) {
  // sodium_init() is idempotent (1 = done before) and fails only without a randomness source,
  // which keying from the session key does not use. GCC ignores (void) on warn_unused_result.
  [[maybe_unused]] const int sodium_ready = sodium_init();
  std::string ctx = "weft extended overlay 1 ";
  ctx += aead_name(aead);
  crypto_generichash(key_.data(), key_.size(), reinterpret_cast<const unsigned char*>(ctx.data()), ctx.size(),
                     session.bytes.data(), session.bytes.size());
  if (aead_ == Aead::aes256gcm) {
    if (!aes_available()) {
      aead_ = Aead::chacha20poly1305;  // not reached: we only offer AES-GCM when we have it
    } else {
      const std::size_t sz = (sizeof(crypto_aead_aes256gcm_state) + 15) / 16 * 16;
      aes_state_ = std::aligned_alloc(16, sz);
      if (aes_state_ == nullptr) throw std::bad_alloc();
      crypto_aead_aes256gcm_beforenm(static_cast<crypto_aead_aes256gcm_state*>(aes_state_), key_.data());
    }
  }
}

ExtSealer::~ExtSealer() {
  if (aes_state_ != nullptr) {
    sodium_memzero(aes_state_, sizeof(crypto_aead_aes256gcm_state));
    std::free(aes_state_);
  }
  sodium_memzero(key_.data(), key_.size());
}

void ExtSealer::nonce(std::uint8_t* n, std::uint64_t id, bool sender_outbound) const {
  std::memset(n, 0, 12);
  n[0] = sender_outbound ? 0x80 : 0;
  put_u64(n + 4, id);
}

void ExtSealer::seal(std::span<std::uint8_t> out, std::span<const std::uint8_t> plain,
                     std::span<const std::uint8_t> ad, std::uint64_t id) const {
  std::uint8_t n[12];
  nonce(n, id, outbound_);
  unsigned long long clen = 0;
  if (aead_ == Aead::aes256gcm) {
    crypto_aead_aes256gcm_encrypt_afternm(out.data(), &clen, plain.data(), plain.size(), ad.data(), ad.size(), nullptr,
                                          n, static_cast<const crypto_aead_aes256gcm_state*>(aes_state_));
  } else {
    crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), &clen, plain.data(), plain.size(), ad.data(), ad.size(),
                                              nullptr, n, key_.data());
  }
}

bool ExtSealer::open(std::span<std::uint8_t> buf, std::span<const std::uint8_t> ad, std::uint64_t id) const {
  if (buf.size() < kExtTagLen) return false;
  std::uint8_t n[12];
  nonce(n, id, !outbound_);  // the remote sealed it
  unsigned long long mlen = 0;
  if (aead_ == Aead::aes256gcm) {
    return crypto_aead_aes256gcm_decrypt_afternm(buf.data(), &mlen, nullptr, buf.data(), buf.size(), ad.data(),
                                                 ad.size(), n,
                                                 static_cast<const crypto_aead_aes256gcm_state*>(aes_state_)) == 0;
  }
  return crypto_aead_chacha20poly1305_ietf_decrypt(buf.data(), &mlen, nullptr, buf.data(), buf.size(), ad.data(),
                                                   ad.size(), n, key_.data()) == 0;
}

// ---- fragmenting

bool build_extended_fragments(Bytes& out, std::vector<std::size_t>& sizes, PeerName sender, PeerName src, PeerName dst,
                              std::uint64_t id, const datapath::VnetHeader& vnet, std::span<const std::uint8_t> frame,
                              std::size_t datagram_size, const ExtSealer* sealer, Bytes& scratch) {
  out.clear();
  sizes.clear();
  if (datagram_size <= kExtHeaderLen) return false;
  const bool sealed = sealer != nullptr;
  const Aead aead = sealed ? sealer->aead() : Aead::none;
  const std::size_t total = frame.size() + (sealed ? kExtTagLen : 0);
  if (frame.empty() || total > kExtMaxTotal) return false;
  const std::size_t chunk = datagram_size - kExtHeaderLen;
  const std::size_t count = (total + chunk - 1) / chunk;
  if (count > kExtMaxFragments) return false;

  // Appended piece by piece into reserved space: no zero-filling of 64 KiB per frame.
  out.reserve(count * kExtHeaderLen + total);
  std::array<std::uint8_t, kExtHeaderLen> h{};
  put_name(h.data(), sender);
  std::memcpy(h.data() + 6, kExtMarker.data(), kExtMarker.size());
  h[14] = static_cast<std::uint8_t>((kExtVersion << 4) | (sealed ? 1 : 0));
  h[15] = static_cast<std::uint8_t>(aead);
  h[17] = static_cast<std::uint8_t>(count);
  put_u64(h.data() + 18, id);
  put_name(h.data() + 26, src);
  put_name(h.data() + 32, dst);
  put_u32(h.data() + 38, static_cast<std::uint32_t>(total));
  datapath::write_vnet_header(vnet, std::span(h).subspan(46));

  std::span<const std::uint8_t> payload = frame;
  // The AEAD needs its output contiguous: seal into the caller's scratch buffer (it only grows),
  // then cut it into the fragments.
  if (sealed) {
    if (scratch.size() < total) scratch.resize(total);
    auto ad = extended_ad(true, aead, src, dst, static_cast<std::uint32_t>(total), vnet);
    sealer->seal(std::span(scratch).first(total), frame, ad, id);
    payload = std::span(scratch).first(total);
  }
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t off = i * chunk;
    const std::size_t n = std::min(chunk, total - off);
    h[16] = static_cast<std::uint8_t>(i);
    put_u32(h.data() + 42, static_cast<std::uint32_t>(off));
    out.insert(out.end(), h.begin(), h.end());
    out.insert(out.end(), payload.begin() + static_cast<std::ptrdiff_t>(off),
               payload.begin() + static_cast<std::ptrdiff_t>(off + n));
    sizes.push_back(kExtHeaderLen + n);
  }
  return true;
}

bool build_extended_fragments(Bytes& out, std::vector<std::size_t>& sizes, PeerName sender, PeerName src, PeerName dst,
                              std::uint64_t id, const datapath::VnetHeader& vnet, std::span<const std::uint8_t> frame,
                              std::size_t datagram_size, const ExtSealer* sealer) {
  Bytes scratch;
  return build_extended_fragments(out, sizes, sender, src, dst, id, vnet, frame, datagram_size, sealer, scratch);
}

// ---- replay window

bool ReplayWindow::check(std::uint64_t id) const {
  if (id >= top_) return true;
  if (top_ - id > kSize) return false;
  return !seen_.test(id % kSize);
}

void ReplayWindow::accept(std::uint64_t id) {
  if (id >= top_) {
    const std::uint64_t advance = id + 1 - top_;
    if (advance >= kSize) {
      seen_.reset();
    } else {
      for (std::uint64_t k = top_; k <= id; ++k) seen_.reset(k % kSize);
    }
    top_ = id + 1;
  }
  seen_.set(id % kSize);
}

// ---- reassembly

Reassembler::Outcome Reassembler::add(const ExtFragment& f, Done& done) {
  ++clock_;
  Slot* slot = nullptr;
  for (auto& s : slots_) {
    if (s.used && s.id == f.id) slot = &s;
  }
  if (slot == nullptr) {
    Slot* victim = &slots_[0];
    for (auto& s : slots_) {
      if (!s.used) {
        victim = &s;
        break;
      }
      if (s.age < victim->age) victim = &s;
    }
    if (victim->used) ++evicted_;
    slot = victim;
    slot->used = true;
    slot->id = f.id;
    slot->first = f;
    slot->first.chunk = {};
    slot->received = 0;
    slot->have.reset();
    slot->buf.resize(f.total);
  }
  slot->age = clock_;
  const auto& a = slot->first;
  if (a.sealed != f.sealed || a.aead != f.aead || a.count != f.count || a.total != f.total || a.src != f.src ||
      a.dst != f.dst || !(a.vnet == f.vnet)) {
    slot->used = false;
    return Outcome::dropped;
  }
  if (slot->have.test(f.index)) return Outcome::partial;  // a duplicate
  const auto b = f.offset;
  const auto e = static_cast<std::uint32_t>(f.offset + f.chunk.size());
  for (std::size_t i = 0; i < f.count; ++i) {
    if (!slot->have.test(i) || slot->end[i] <= b || e <= slot->begin[i]) continue;
    // Overlap with bytes already received: a repeat of exactly those bytes is harmless and
    // ignored; anything else is refused with the whole frame.
    if (slot->begin[i] == b && slot->end[i] == e &&
        std::memcmp(slot->buf.data() + b, f.chunk.data(), f.chunk.size()) == 0) {
      return Outcome::partial;
    }
    slot->used = false;
    return Outcome::dropped;
  }
  slot->have.set(f.index);
  slot->begin[f.index] = b;
  slot->end[f.index] = e;
  std::memcpy(slot->buf.data() + f.offset, f.chunk.data(), f.chunk.size());
  slot->received += f.chunk.size();
  if (slot->have.count() < f.count) return Outcome::partial;
  slot->used = false;
  // The chunks are disjoint and inside [0, total): they cover the frame iff their sizes add up.
  if (slot->received != f.total) return Outcome::dropped;
  done.src = a.src;
  done.dst = a.dst;
  done.vnet = a.vnet;
  done.id = a.id;
  done.sealed = a.sealed;
  done.aead = a.aead;
  done.payload = std::span(slot->buf.data(), f.total);
  return Outcome::complete;
}

// ---- plain frames for offload-less peers

bool vnet_header_fits(std::span<const std::uint8_t> frame, const datapath::VnetHeader& vnet) {
  if (vnet.is_gso()) {
    if (!datapath::plan_gso(frame, vnet)) return false;
  }
  if (vnet.needs_csum()) {
    if (std::size_t{vnet.csum_start} + vnet.csum_offset + 2 > frame.size()) return false;
  }
  return true;
}

bool plain_frames(std::span<const std::uint8_t> frame, const datapath::VnetHeader& vnet, std::size_t max_ip_len,
                  Bytes& arena, std::vector<std::span<const std::uint8_t>>& out) {
  if (vnet.is_gso()) {
    auto plan = datapath::plan_gso(frame, vnet, max_ip_len);
    if (!plan) return false;
    arena.resize(plan->segments * plan->max_segment_len());
    std::size_t off = 0;
    for (std::size_t i = 0; i < plan->segments; ++i) {
      auto n = datapath::write_gso_segment(frame, *plan, i, std::span(arena).subspan(off));
      if (n == 0) return false;
      out.emplace_back(arena.data() + off, n);
      off += n;
    }
    return true;
  }
  if (vnet.needs_csum()) {
    arena.assign(frame.begin(), frame.end());
    if (!datapath::complete_checksum(arena, vnet)) return false;
    out.emplace_back(arena.data(), arena.size());
    return true;
  }
  out.push_back(frame);
  return true;
}

}  // namespace weft::router
