#pragma once
// Session crypto for mesh connections: the ephemeral Curve25519 key exchange, the sealed TCP
// message stream and its length-prefix framing (spec §1.2, §1.6), and sleeve (UDP) encryption with
// its replay window (spec §4.2). Everything here is a pure function of its inputs: randomness comes
// in through `Random&` or raw secret bytes, and nothing touches a socket or a clock.
//
// Session key
//   shared      = crypto_box_beforenm(their_public, our_secret)     (X25519 + HSalsa20)
//   session key = SHA256(shared ‖ password)
//
// Nonce (24 bytes), shared by TCP and UDP:
//   +--------+------------------------------+-------------------------+
//   | byte 0 | bytes 1..15                  | bytes 16..23            |
//   +--------+------------------------------+-------------------------+
//   | O T 0… | zero                         | sequence, BE uint64     |
//   +--------+------------------------------+-------------------------+
//   O (bit 7) = the *sender* is the outbound (dialling) side of the TCP connection
//   T (bit 6) = 1 for TCP messages, 0 for sleeve datagrams (keeps the two nonce spaces disjoint)
//   For UDP the sequence field is seqNoAndDF (bit 63 = DF encryptor).
//
// TCP frame (protocol v2):   <[4] BE length> <[length] body>      length <= 10 MiB
//   encrypted body = secretbox: <[16] Poly1305 tag> <ciphertext>, one sequence number per message
//   and direction, starting at 0 (the features message).
//
// Sleeve datagram, encrypted (the caller writes the 6-byte sender name; this file does the rest):
//   <[6] sender PeerName> <[8] seqNoAndDF BE> <[16] tag> <ciphertext of the frame records>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "weft/base/bytes.hpp"
#include "weft/base/random.hpp"
#include "weft/base/result.hpp"

namespace weft::mesh {

inline constexpr std::size_t kKeySize = 32;
inline constexpr std::size_t kNonceSize = 24;
/// Poly1305 tag prepended by secretbox.
inline constexpr std::size_t kSecretboxOverhead = 16;
/// Hard limit on the v2 length field, i.e. on the (sealed) body of one TCP message.
inline constexpr std::uint32_t kMaxTcpMessageSize = 10 * 1024 * 1024;
inline constexpr std::size_t kFrameHeaderSize = 4;
/// Bytes a sleeve encryptor adds after the sender name: seqNoAndDF + tag.
inline constexpr std::size_t kSleeveCryptoOverhead = 8 + kSecretboxOverhead;
inline constexpr std::uint64_t kSleeveDfBit = std::uint64_t{1} << 63;

using PublicKey = std::array<std::uint8_t, kKeySize>;
using Nonce = std::array<std::uint8_t, kNonceSize>;

/// The 32-byte symmetric key shared by both ends of one connection (TCP and sleeve).
struct SessionKey {
  std::array<std::uint8_t, kKeySize> bytes{};
  bool operator==(const SessionKey&) const = default;
};

/// Which end of the TCP connection we are: outbound = we dialled.
enum class Side : std::uint8_t { inbound, outbound };
enum class Transport : std::uint8_t { udp, tcp };

inline Side other_side(Side s) { return s == Side::outbound ? Side::inbound : Side::outbound; }

/// Builds the nonce for a message sent by `sender` (see the diagram above). For UDP `seq` is the
/// full seqNoAndDF value.
Nonce make_nonce(Side sender, Transport transport, std::uint64_t seq);

/// An ephemeral Curve25519 key pair (Go `box.GenerateKey`): 32 secret bytes, public = X25519 base
/// point multiple (clamping happens inside the scalar multiplication, as in Go).
class KeyPair {
 public:
  /// Draws the secret from `rng`; production passes StreamRandom (a CSPRNG seeded by libsodium).
  static KeyPair generate(Random& rng);
  static KeyPair from_secret(const std::array<std::uint8_t, kKeySize>& secret);
  /// nullopt unless exactly 32 bytes.
  static std::optional<KeyPair> from_secret(ByteSpan secret);
  KeyPair(const KeyPair&) = default;
  KeyPair& operator=(const KeyPair&) = default;
  ~KeyPair();  ///< wipes the secret
  const PublicKey& public_key() const { return public_; }

 private:
  KeyPair() = default;
  friend Result<SessionKey> form_session_key(const PublicKey&, const KeyPair&, ByteSpan);
  std::array<std::uint8_t, kKeySize> secret_{};
  PublicKey public_{};
};

/// SHA256(crypto_box_beforenm(their_public, our_secret) ‖ password). Fails only when the peer's
/// public key is a low-order point (the X25519 result is all zero); Go peers never send one.
Result<SessionKey> form_session_key(const PublicKey& their_public, const KeyPair& ours,
                                    ByteSpan password);

/// crypto_secretbox_easy: appends tag(16) ‖ ciphertext to `out`.
void secretbox_seal_append(Bytes& out, ByteSpan plaintext, const Nonce& nonce,
                           const SessionKey& key);
/// crypto_secretbox_open_easy into `out` (resized, capacity reused). False when the box is shorter
/// than the tag or fails authentication; `out` is then unspecified.
bool secretbox_open_into(Bytes& out, ByteSpan sealed, const Nonce& nonce, const SessionKey& key);

// ---------------------------------------------------------------------------------------------
// TCP

/// Seals the messages we send on one TCP connection. Sequence numbers start at 0 and advance by
/// one per message; the first message is the features map.
class TcpSealer {
 public:
  TcpSealer(const SessionKey& key, Side our_side) : key_(key), our_side_(our_side) {}
  /// Returns tag(16) ‖ ciphertext of `plaintext`, and advances the sequence number.
  Bytes seal(ByteSpan plaintext);
  void seal_append(Bytes& out, ByteSpan plaintext);
  std::uint64_t next_seq() const { return seq_; }
  void set_next_seq_for_test(std::uint64_t seq) { seq_ = seq; }

 private:
  SessionKey key_;
  Side our_side_;
  std::uint64_t seq_ = 0;
};

/// Opens the messages the peer sends on one TCP connection (nonces carry the peer's polarity).
class TcpOpener {
 public:
  TcpOpener(const SessionKey& key, Side our_side) : key_(key), our_side_(our_side) {}
  /// The plaintext, advancing the sequence number; an error (forged, truncated, out of order or
  /// wrong key) means the connection must be closed.
  Result<Bytes> open(ByteSpan sealed);
  std::uint64_t next_seq() const { return seq_; }
  void set_next_seq_for_test(std::uint64_t seq) { seq_ = seq; }

 private:
  SessionKey key_;
  Side our_side_;
  std::uint64_t seq_ = 0;
};

/// Appends <[4] BE length> <body>. Fails when body exceeds kMaxTcpMessageSize (Go refuses to
/// send such a message too).
Result<void> append_frame(Bytes& out, ByteSpan body);
Result<Bytes> encode_frame(ByteSpan body);

/// Incremental reader of length-prefixed frames: feed it whatever the socket returned, then call
/// next() until it yields nullopt. A length field above the limit is reported as soon as the four
/// length bytes are in, and the error is sticky (the connection must be closed).
class FrameReader {
 public:
  explicit FrameReader(std::uint32_t max_size = kMaxTcpMessageSize) : max_size_(max_size) {}
  /// Appends bytes; invalidates spans returned by next().
  void feed(ByteSpan chunk);
  /// The next complete frame body, or nullopt when more bytes are needed. The span stays valid
  /// until the next feed() or take_buffered().
  Result<std::optional<ByteSpan>> next();
  /// Bytes received but not yet returned as frames (including a partial frame); empties the
  /// reader.
  Bytes take_buffered();
  std::size_t buffered() const { return buf_.size() - pos_; }

 private:
  std::uint32_t max_size_;
  Bytes buf_;
  std::size_t pos_ = 0;
  std::optional<Error> error_;
};

// ---------------------------------------------------------------------------------------------
// Sleeve (UDP)

/// One of the two sleeve encryptors of a direction (non-DF or DF), with its own counter.
class SleeveEncryptor {
 public:
  SleeveEncryptor(const SessionKey& key, Side our_side, bool df)
      : key_(key), our_side_(our_side), df_(df) {}
  /// Appends seqNoAndDF(8, BE) ‖ tag ‖ ciphertext of `plaintext` (the concatenated frame records)
  /// to `out`, which already holds the 6-byte sender name; advances the sequence number.
  void seal_append(Bytes& out, ByteSpan plaintext);
  bool df() const { return df_; }
  std::uint64_t next_seq() const { return seq_; }
  void set_next_seq_for_test(std::uint64_t seq) { seq_ = seq; }

 private:
  SessionKey key_;
  Side our_side_;
  bool df_;
  std::uint64_t seq_ = 0;
};

/// Both sleeve encryptors of our sending direction.
struct SleeveEncryptors {
  SleeveEncryptors(const SessionKey& key, Side our_side)
      : non_df(key, our_side, false), df(key, our_side, true) {}
  SleeveEncryptor& for_path(bool df_path) { return df_path ? df : non_df; }
  SleeveEncryptor non_df;
  SleeveEncryptor df;
};

/// Duplicate detection over a sliding window of 2 × 2^20 sequence numbers (spec §4.2, weave
/// `advanceState`). Bitsets grow on demand up to 2^20 bits (128 KiB) each, so an idle connection
/// costs almost nothing.
class ReplayWindow {
 public:
  static constexpr unsigned kWindowBits = 20;
  /// Records `seq` (bit 63 already stripped) and returns true if it is new; false for a
  /// duplicate or a sequence number below the previous window. Call only after the datagram
  /// authenticated, so forged sequence numbers cannot move the window.
  bool accept(std::uint64_t seq);
  std::uint64_t current_window() const { return current_window_; }

 private:
  class Bitset {
   public:
    bool test(std::uint32_t i) const;
    void set(std::uint32_t i);
    void clear() { words_.clear(); }
    void swap(Bitset& o) noexcept { words_.swap(o.words_); }

   private:
    std::vector<std::uint64_t> words_;
  };
  std::uint64_t current_window_ = 0;
  Bitset current_;
  Bitset previous_;
};

/// Decrypts the sleeve datagrams the peer sends us, one replay window per DF/non-DF encryptor.
class SleeveDecryptor {
 public:
  SleeveDecryptor(const SessionKey& key, Side our_side) : key_(key), our_side_(our_side) {}
  /// `packet` = the datagram after the 6-byte sender name. On success `out` holds the frame
  /// records and the result is true; false means a duplicate that must be dropped silently. An
  /// error (too short, forged, wrong key) is a packet error: count it and drop the datagram.
  Result<bool> open_into(Bytes& out, ByteSpan packet);
  /// Convenience form: the frame records, nullopt for a dropped duplicate.
  Result<std::optional<Bytes>> open(ByteSpan packet);

 private:
  SessionKey key_;
  Side our_side_;
  ReplayWindow window_;
  ReplayWindow window_df_;
};

}  // namespace weft::mesh
