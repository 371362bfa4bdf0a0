// Fuzzes the post-handshake byte decoders: the length-prefix FrameReader and MessageReader
// (plain and sealed), the sleeve decryptor, and the replay window against a naive model.
//
// Input: <[1] mode> <payload>
//   mode % 4 == 0: payload = a plain TCP message stream
//   mode % 4 == 1: payload = a sealed TCP message stream from the outbound side, opened with the
//                  capture's session key starting at sequence 4 (the capture's seq4..6 open)
//   mode % 4 == 2: payload = sleeve datagrams (after the sender name) as <[2] BE len> <bytes>
//                  records, decrypted with the capture's session key; bit 2 of mode picks our side
//   mode % 4 == 3: payload = BE uint32 sequence numbers for ReplayWindow vs a set-based model
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <set>
#include <vector>

#include "weft/mesh/handshake.hpp"
#include "weft/mesh/session_crypto.hpp"

namespace {

using namespace weft;
using namespace weft::mesh;

SessionKey capture_key() {
  static const auto k = [] {
    SessionKey s;
    auto b = from_hex("abf9892a750c2715cb799b5dfa8231439f74d8721a0ab4e7bf7de34a607c6b10");
    std::copy(b->begin(), b->end(), s.bytes.begin());
    return s;
  }();
  return k;
}

struct Read {
  std::vector<ProtocolMessage> messages;
  bool error = false;
};

Read read_all(std::optional<TcpOpener> opener, ByteSpan input, std::uint32_t seed) {
  Read out;
  MessageReader r(std::move(opener));
  std::size_t pos = 0;
  for (;;) {
    for (;;) {
      auto m = r.next();
      if (!m) {
        out.error = true;
        return out;
      }
      if (!m->has_value()) break;
      if ((*m)->tag == ProtocolTag::overlay_control && (*m)->payload.empty()) std::abort();
      out.messages.push_back(std::move(**m));
    }
    if (pos == input.size()) return out;
    std::size_t n = input.size() - pos;
    if (seed != 0) {
      seed = seed * 1103515245u + 12345u;
      n = std::min<std::size_t>(n, 1 + (seed >> 16) % 23);
    }
    r.feed(input.subspan(pos, n));
    pos += n;
  }
}

void fuzz_stream(ByteSpan payload, bool sealed) {
  auto opener = [&]() -> std::optional<TcpOpener> {
    if (!sealed) return std::nullopt;
    TcpOpener o(capture_key(), Side::inbound);
    o.set_next_seq_for_test(4);
    return o;
  };
  auto whole = read_all(opener(), payload, 0);
  auto chunked = read_all(opener(), payload, static_cast<std::uint32_t>(payload.size()) | 1u);
  if (whole.error != chunked.error || whole.messages != chunked.messages) std::abort();

  // Whatever was read re-encodes and reads back identically.
  std::optional<TcpSealer> sealer;
  if (sealed) {
    sealer.emplace(capture_key(), Side::outbound);
    sealer->set_next_seq_for_test(4);
  }
  MessageWriter w(sealer);
  Bytes again;
  for (const auto& m : whole.messages) {
    if (!w.append(again, m.tag, m.payload)) std::abort();
  }
  auto back = read_all(opener(), again, 0);
  if (back.error || back.messages != whole.messages) std::abort();

  // The bare frame reader agrees with itself under chunking too.
  FrameReader a, b;
  a.feed(payload);
  std::size_t frames_a = 0, frames_b = 0;
  bool err_a = false, err_b = false;
  for (;;) {
    auto f = a.next();
    if (!f) {
      err_a = true;
      break;
    }
    if (!f->has_value()) break;
    ++frames_a;
  }
  for (std::size_t i = 0; i < payload.size(); ++i) {
    b.feed(payload.subspan(i, 1));
    for (;;) {
      auto f = b.next();
      if (!f) {
        err_b = true;
        break;
      }
      if (!f->has_value()) break;
      ++frames_b;
    }
    if (err_b) break;
  }
  if (err_a != err_b || frames_a != frames_b) std::abort();
}

void fuzz_sleeve(ByteSpan payload, Side side) {
  SleeveDecryptor d(capture_key(), side);
  ByteReader rd(payload);
  Bytes out;
  while (!rd.empty()) {
    auto len = rd.u16be();
    if (!len) break;
    auto pkt = rd.take(std::min<std::size_t>(*len, rd.remaining()));
    if (!pkt) break;
    (void)d.open_into(out, *pkt);
  }
}

/// The replay rules of spec §4.2 written the obvious way, with ordered sets.
class ModelWindow {
 public:
  bool accept(std::uint64_t seq) {
    const std::uint64_t w = seq >> 20;
    std::set<std::uint64_t>* set = nullptr;
    if (w + 1 < cur_) return false;
    if (w + 1 == cur_) {
      set = &prev_;
    } else if (w == cur_) {
      set = &now_;
    } else if (w == cur_ + 1) {
      cur_ = w;
      prev_ = std::move(now_);
      now_.clear();
      set = &now_;
    } else {
      cur_ = w;
      prev_.clear();
      now_.clear();
      set = &now_;
    }
    return set->insert(seq).second;
  }

 private:
  std::uint64_t cur_ = 0;
  std::set<std::uint64_t> now_, prev_;
};

void fuzz_window(ByteSpan payload) {
  ReplayWindow real;
  ModelWindow model;
  ByteReader rd(payload);
  while (auto v = rd.u32be()) {
    if (real.accept(*v) != model.accept(*v)) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  const ByteSpan payload(data + 1, size - 1);
  switch (mode % 4) {
    case 0:
      fuzz_stream(payload, false);
      break;
    case 1:
      fuzz_stream(payload, true);
      break;
    case 2:
      fuzz_sleeve(payload, (mode & 4) ? Side::inbound : Side::outbound);
      break;
    case 3:
      fuzz_window(payload);
      break;
  }
  return 0;
}
