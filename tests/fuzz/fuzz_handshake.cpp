// Fuzzes the v2 intro state machine (Handshake), features validation, and the message stream
// that follows it. Besides "no crash, no sanitizer report", it checks that the outcome does not
// depend on how the input is chunked.
//
// Input: <[1] mode> <payload>
//   mode & 3 == 0: payload is the peer's raw byte stream, no password
//   mode & 3 == 1: payload is the peer's raw byte stream, password "secret", our ephemeral
//                  secret 01×32 when outbound and 02×32 when inbound (so the real capture's
//                  "B->A intro + features" completes as A, and "A->B ..." as B)
//   mode & 3 == 2: no password; the harness sends a valid header and flag 0, then the payload
//   mode & 3 == 3: password "secret"; the harness plays the other capture peer and seals
//                  payload records <[2] BE len> <body> as consecutive messages (the first one
//                  is the features message), so the fuzzer reaches the decoders behind the crypto
//   mode & 4: we are the inbound side (else outbound)
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

#include "weft/mesh/handshake.hpp"
#include "weft/mesh/session_crypto.hpp"

namespace {

using namespace weft;
using namespace weft::mesh;

KeyPair key(std::uint8_t fill) {
  std::array<std::uint8_t, kKeySize> s{};
  s.fill(fill);
  return KeyPair::from_secret(s);
}

HandshakeParams params(Side side, bool password) {
  LocalFeatures f;
  f.name = PeerName(0xaabbccddee01);
  f.nickname = "hostA";
  f.uid = 0x0101010101010101;
  f.conn_id = f.uid;
  HandshakeParams p;
  p.side = side;
  if (password) p.password = to_bytes("secret");
  p.features = make_features(f);
  return p;
}

struct Outcome {
  bool done = false;
  bool failed = false;
  std::string error;
  Bytes written;
  HandshakeResult result;
};

/// Runs one handshake over `input`, delivered in chunks whose sizes come from `seed` (0 = all at
/// once).
std::uint8_t our_key_fill(Side side) { return side == Side::outbound ? 1 : 2; }

Outcome run(const HandshakeParams& p, bool password, ByteSpan input, std::uint32_t seed) {
  Outcome o;
  Handshake h(p, password ? std::optional<KeyPair>(key(our_key_fill(p.side))) : std::nullopt);
  o.written = h.start();
  std::size_t pos = 0;
  while (pos < input.size()) {
    std::size_t n = input.size() - pos;
    if (seed != 0) {
      seed = seed * 1103515245u + 12345u;
      n = std::min<std::size_t>(n, 1 + (seed >> 16) % 17);
    }
    auto r = h.feed(input.subspan(pos, n));
    pos += n;
    if (!r) {
      o.error = r.error().message;
      break;
    }
    o.written.insert(o.written.end(), r->begin(), r->end());
  }
  o.done = h.done();
  o.failed = h.failed();
  if (o.done && o.failed) std::abort();
  if (!o.error.empty() && !o.failed) std::abort();  // errors are sticky states
  if (o.done) o.result = h.take_result();
  return o;
}

void drain_messages(HandshakeResult& r) {
  (void)parse_remote_features(r.features);
  auto reader = MessageReader::from_handshake(r);
  auto writer = MessageWriter::from_handshake(r);
  for (int i = 0; i < 10000; ++i) {
    auto m = reader.next();
    if (!m || !m->has_value()) break;
    if ((*m)->tag == ProtocolTag::overlay_control && (*m)->payload.empty()) std::abort();
    (void)writer.encode((*m)->tag, (*m)->payload);
  }
}

/// Builds the byte stream of the other capture peer whose sealed messages are the payload's
/// <[2] len> <body> records.
Bytes sealed_peer_stream(ByteSpan payload, Side our_side) {
  Bytes out = to_bytes("weave");
  out.push_back(1);
  out.push_back(2);
  out.push_back(1);
  auto peer = key(our_key_fill(other_side(our_side)));
  out.insert(out.end(), peer.public_key().begin(), peer.public_key().end());
  auto session =
      form_session_key(key(our_key_fill(our_side)).public_key(), peer, to_bytes("secret"));
  if (!session) std::abort();
  TcpSealer sealer(*session, other_side(our_side));
  ByteReader rd(payload);
  while (!rd.empty()) {
    auto len = rd.u16be();
    if (!len) break;
    auto body = rd.take(std::min<std::size_t>(*len, rd.remaining()));
    if (!body) break;
    if (!append_frame(out, sealer.seal(*body))) std::abort();
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  const ByteSpan payload(data + 1, size - 1);
  const Side side = (mode & 4) ? Side::inbound : Side::outbound;
  const bool password = (mode & 1) != 0;

  Bytes input;
  switch (mode & 3) {
    case 0:
    case 1:
      input.assign(payload.begin(), payload.end());
      break;
    case 2:
      input = to_bytes("weave");
      input.insert(input.end(), {1, 2, 0});
      input.insert(input.end(), payload.begin(), payload.end());
      break;
    case 3:
      input = sealed_peer_stream(payload, side);
      break;
  }

  const auto p = params(side, password);
  auto whole = run(p, password, input, 0);
  auto chunked = run(p, password, input, static_cast<std::uint32_t>(size) | 1u);
  // Chunking must not change anything observable. The one exception: a feed() that fails
  // discards what it would have written (the connection closes anyway), so after an error the
  // bytes written so far depend on where the chunk boundaries fell, but one is a prefix of the
  // other.
  if (whole.done != chunked.done || whole.failed != chunked.failed ||
      whole.error != chunked.error) {
    std::abort();
  }
  if (whole.failed) {
    const auto& a = whole.written.size() <= chunked.written.size() ? whole.written
                                                                   : chunked.written;
    const auto& b = &a == &whole.written ? chunked.written : whole.written;
    if (!std::equal(a.begin(), a.end(), b.begin())) std::abort();
  } else if (whole.written != chunked.written) {
    std::abort();
  }
  if (whole.done) {
    if (whole.result.version != 2 || whole.result.features != chunked.result.features ||
        whole.result.leftover != chunked.result.leftover ||
        whole.result.session_key.has_value() != password) {
      std::abort();
    }
    drain_messages(whole.result);
  }
  return 0;
}
