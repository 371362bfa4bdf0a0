#include "weft/mesh/session_crypto.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstring>

namespace weft::mesh {

static_assert(crypto_box_PUBLICKEYBYTES == kKeySize);
static_assert(crypto_box_SECRETKEYBYTES == kKeySize);
static_assert(crypto_box_BEFORENMBYTES == kKeySize);
static_assert(crypto_secretbox_KEYBYTES == kKeySize);
static_assert(crypto_secretbox_NONCEBYTES == kNonceSize);
static_assert(crypto_secretbox_MACBYTES == kSecretboxOverhead);
static_assert(crypto_hash_sha256_BYTES == kKeySize);

namespace {

// NB: sodium_init() is idempotent and thread-safe; the primitives used here work without it,
// but it selects the fastest implementations, so every entry point that allocates state calls it.
void ensure_sodium() {
  static const int rc = sodium_init();
  (void)rc;
}

void put_u64be(std::uint8_t* p, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<std::uint8_t>(v);
    v >>= 8;
  }
}

std::uint64_t get_u64be(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

Nonce make_nonce(Side sender, Transport transport, std::uint64_t seq) {
  Nonce n{};
  if (sender == Side::outbound) n[0] |= 0x80;
  if (transport == Transport::tcp) n[0] |= 0x40;
  put_u64be(n.data() + 16, seq);
  return n;
}

// ---- KeyPair

KeyPair KeyPair::generate(Random& rng) {
  std::array<std::uint8_t, kKeySize> secret{};
  rng.fill(secret);
  KeyPair kp = from_secret(secret);
  sodium_memzero(secret.data(), secret.size());
  return kp;
}

KeyPair KeyPair::from_secret(const std::array<std::uint8_t, kKeySize>& secret) {
  ensure_sodium();
  KeyPair kp;
  kp.secret_ = secret;
  crypto_scalarmult_curve25519_base(kp.public_.data(), kp.secret_.data());
  return kp;
}

std::optional<KeyPair> KeyPair::from_secret(ByteSpan secret) {
  if (secret.size() != kKeySize) return std::nullopt;
  std::array<std::uint8_t, kKeySize> s{};
  std::copy(secret.begin(), secret.end(), s.begin());
  KeyPair kp = from_secret(s);
  sodium_memzero(s.data(), s.size());
  return kp;
}

KeyPair::~KeyPair() { sodium_memzero(secret_.data(), secret_.size()); }

Result<SessionKey> form_session_key(const PublicKey& their_public, const KeyPair& ours,
                                    ByteSpan password) {
  ensure_sodium();
  std::array<std::uint8_t, kKeySize> shared{};
  if (crypto_box_beforenm(shared.data(), their_public.data(), ours.secret_.data()) != 0) {
    return make_error("peer sent a weak (low-order) public key");
  }
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, shared.data(), shared.size());
  crypto_hash_sha256_update(&st, password.data(), password.size());
  SessionKey key;
  crypto_hash_sha256_final(&st, key.bytes.data());
  sodium_memzero(shared.data(), shared.size());
  sodium_memzero(&st, sizeof st);
  return key;
}

void secretbox_seal_append(Bytes& out, ByteSpan plaintext, const Nonce& nonce,
                           const SessionKey& key) {
  const auto at = out.size();
  out.resize(at + kSecretboxOverhead + plaintext.size());
  // crypto_secretbox_easy supports any message length and never fails. An empty span may carry
  // a null pointer, which libsodium must not see.
  static const std::uint8_t kEmpty = 0;
  const auto* src = plaintext.empty() ? &kEmpty : plaintext.data();
  crypto_secretbox_easy(out.data() + at, src, plaintext.size(), nonce.data(), key.bytes.data());
}

bool secretbox_open_into(Bytes& out, ByteSpan sealed, const Nonce& nonce, const SessionKey& key) {
  if (sealed.size() < kSecretboxOverhead) return false;
  out.resize(sealed.size() - kSecretboxOverhead);
  // NB: libsodium dereferences the output pointer only after authentication; a zero-length
  // plaintext still needs a valid pointer, hence the dummy byte.
  std::uint8_t dummy = 0;
  auto* dst = out.empty() ? &dummy : out.data();
  return crypto_secretbox_open_easy(dst, sealed.data(), sealed.size(), nonce.data(),
                                    key.bytes.data()) == 0;
}

// ---- TCP

Bytes TcpSealer::seal(ByteSpan plaintext) {
  Bytes out;
  out.reserve(kSecretboxOverhead + plaintext.size());
  seal_append(out, plaintext);
  return out;
}

void TcpSealer::seal_append(Bytes& out, ByteSpan plaintext) {
  secretbox_seal_append(out, plaintext, make_nonce(our_side_, Transport::tcp, seq_), key_);
  ++seq_;
}

Result<Bytes> TcpOpener::open(ByteSpan sealed) {
  Bytes out;
  if (!secretbox_open_into(out, sealed,
                           make_nonce(other_side(our_side_), Transport::tcp, seq_), key_)) {
    return make_error("unable to decrypt TCP msg (sequence {}, {} bytes)", seq_, sealed.size());
  }
  ++seq_;
  return out;
}

Result<void> append_frame(Bytes& out, ByteSpan body) {
  if (body.size() > kMaxTcpMessageSize) {
    return make_error("outgoing message exceeds maximum size: {} > {}", body.size(),
                      kMaxTcpMessageSize);
  }
  ByteWriter w(out);
  w.u32be(static_cast<std::uint32_t>(body.size()));
  w.put(body);
  return {};
}

Result<Bytes> encode_frame(ByteSpan body) {
  Bytes out;
  out.reserve(kFrameHeaderSize + body.size());
  WEFT_TRY_VOID(append_frame(out, body));
  return out;
}

void FrameReader::feed(ByteSpan chunk) {
  if (error_ || chunk.empty()) return;
  // Compact lazily: drop consumed bytes once they dominate the buffer, so a stream of small
  // frames does not shift the buffer on every call.
  if (pos_ > 0 && (pos_ == buf_.size() || pos_ >= buf_.size() / 2)) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ = 0;
  }
  buf_.insert(buf_.end(), chunk.begin(), chunk.end());
}

Result<std::optional<ByteSpan>> FrameReader::next() {
  if (error_) return *error_;
  const auto avail = buf_.size() - pos_;
  if (avail < kFrameHeaderSize) return std::optional<ByteSpan>{};
  const auto* p = buf_.data() + pos_;
  const std::uint32_t len = static_cast<std::uint32_t>(p[0]) << 24 |
                            static_cast<std::uint32_t>(p[1]) << 16 |
                            static_cast<std::uint32_t>(p[2]) << 8 | p[3];
  if (len > max_size_) {
    error_ = make_error("incoming message exceeds maximum size: {} > {}", len, max_size_);
    return *error_;
  }
  if (avail - kFrameHeaderSize < len) return std::optional<ByteSpan>{};
  ByteSpan body(p + kFrameHeaderSize, len);
  pos_ += kFrameHeaderSize + len;
  return std::optional<ByteSpan>{body};
}

Bytes FrameReader::take_buffered() {
  Bytes out(buf_.begin() + static_cast<std::ptrdiff_t>(pos_), buf_.end());
  buf_.clear();
  pos_ = 0;
  return out;
}

// ---- Sleeve

void SleeveEncryptor::seal_append(Bytes& out, ByteSpan plaintext) {
  const std::uint64_t seq_and_df = df_ ? (seq_ | kSleeveDfBit) : seq_;
  const auto at = out.size();
  out.resize(at + 8);
  put_u64be(out.data() + at, seq_and_df);
  secretbox_seal_append(out, plaintext, make_nonce(our_side_, Transport::udp, seq_and_df), key_);
  ++seq_;
}

bool ReplayWindow::Bitset::test(std::uint32_t i) const {
  const auto w = i / 64;
  return w < words_.size() && ((words_[w] >> (i % 64)) & 1) != 0;
}

void ReplayWindow::Bitset::set(std::uint32_t i) {
  const auto w = i / 64;
  if (w >= words_.size()) words_.resize(w + 1, 0);
  words_[w] |= std::uint64_t{1} << (i % 64);
}

bool ReplayWindow::accept(std::uint64_t seq) {
  const auto offset = static_cast<std::uint32_t>(seq & ((std::uint64_t{1} << kWindowBits) - 1));
  const std::uint64_t window = seq >> kWindowBits;
  // NB: same arithmetic as weave's advanceState: the difference of two unsigned windows read as
  // a signed number (windows are < 2^43, so this never overflows).
  const auto delta = static_cast<std::int64_t>(window - current_window_);
  Bitset* set = nullptr;
  if (delta < -1) {
    return false;  // below the previous window: treated as a replay
  } else if (delta == -1) {
    set = &previous_;
  } else if (delta == 0) {
    set = &current_;
  } else if (delta == 1) {
    current_window_ = window;
    previous_.swap(current_);
    current_.clear();
    set = &current_;
  } else {
    current_window_ = window;
    previous_.clear();
    current_.clear();
    set = &current_;
  }
  if (set->test(offset)) return false;
  set->set(offset);
  return true;
}

Result<bool> SleeveDecryptor::open_into(Bytes& out, ByteSpan packet) {
  if (packet.size() < 8) {
    return make_error("encrypted UDP packet too short; expected length >= 8, got {}",
                      packet.size());
  }
  const std::uint64_t seq_and_df = get_u64be(packet.data());
  const bool df = (seq_and_df & kSleeveDfBit) != 0;
  const auto nonce = make_nonce(other_side(our_side_), Transport::udp, seq_and_df);
  if (!secretbox_open_into(out, packet.subspan(8), nonce, key_)) {
    return make_error("UDP packet decryption failed");
  }
  auto& window = df ? window_df_ : window_;
  return window.accept(seq_and_df & ~kSleeveDfBit);
}

Result<std::optional<Bytes>> SleeveDecryptor::open(ByteSpan packet) {
  Bytes out;
  WEFT_TRY(fresh, open_into(out, packet));
  if (!fresh) return std::optional<Bytes>{};
  return std::optional<Bytes>{std::move(out)};
}

}  // namespace weft::mesh
