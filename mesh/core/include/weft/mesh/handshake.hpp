#pragma once
// The mesh TCP connection intro (spec §1.1, §1.2, §1.5) and the message layer after it (§1.7), as
// sans-I/O state machines: the shell writes what they return and feeds them what it reads.
//
// Intro, protocol version 2 (each side writes its half without waiting for the other's):
//
//   header     <[5] "weave"> <[1] min version> <[1] max version>      we send min = max = 2
//   intro      <[1] encryption flag: 0 | 1> <[32] ephemeral Curve25519 public key, iff flag = 1>
//   features   <[4] BE length> <[length] body>       body = gob map[string]string, sealed with
//                                                    sequence 0 when the flag is 1
//
// then a stream of frames of the same shape, each body = <[1] tag> <payload> (sealed when
// encrypted). Negotiated version = min(their max, our max), which must be >= max(their min, our
// min). weft implements only version 2 (version 1 is the legacy gob-stream intro).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weft/base/bytes.hpp"
#include "weft/base/peer_name.hpp"
#include "weft/base/random.hpp"
#include "weft/base/result.hpp"
#include "weft/base/short_id.hpp"
#include "weft/mesh/features_codec.hpp"
#include "weft/mesh/session_crypto.hpp"

namespace weft::mesh {

inline constexpr std::string_view kProtocolMagic = "weave";
inline constexpr std::size_t kProtocolHeaderSize = 7;
inline constexpr std::uint8_t kProtocolMinVersion = 2;
inline constexpr std::uint8_t kProtocolMaxVersion = 2;
inline constexpr std::string_view kPeerNameFlavour = "mac";
/// The largest features message accepted before authentication. Real ones are a few hundred
/// bytes; the general 10 MiB message cap applies only after the handshake (issue 18, item 3).
inline constexpr std::uint32_t kMaxFeaturesMessageSize = 64 * 1024;

/// Message tags after the intro (spec §1.7).
enum class ProtocolTag : std::uint8_t {
  heartbeat = 0,
  connection_established = 1,  ///< Reserved1: compat sleeve control
  fragmentation_received = 2,  ///< Reserved2: compat sleeve control
  pmtu_verified = 3,           ///< Reserved3: compat sleeve control, u16 BE mtu
  gossip = 4,
  gossip_unicast = 5,
  gossip_broadcast = 6,
  overlay_control = 7,  ///< [forwarder index u8][sub-tag u8][sub-payload]
};
inline bool is_known_tag(ProtocolTag t) {
  return static_cast<std::uint8_t>(t) <= static_cast<std::uint8_t>(ProtocolTag::overlay_control);
}

// ---------------------------------------------------------------------------------------------
// Features

/// What we announce in our features map (spec §1.5).
struct LocalFeatures {
  PeerName name;
  std::string nickname;
  std::uint64_t uid = 0;      ///< random, != 0, new every process start
  std::uint64_t conn_id = 0;  ///< random per connection
  ShortID short_id;
  bool trusted = false;  ///< the remote's IP is in our --trusted-subnets
  std::vector<std::string> overlays{"sleeve"};  ///< preference order
  /// weft's extended overlay offer (key "WeftOverlay", e.g. "1 aes256gcm chacha20poly1305"):
  /// empty = not offered, and the key is left out, so a Weave peer sees exactly its 8 keys.
  std::string weft_overlay;
  /// weft's topology digests (key "WeftGossip", "1"; weft/mesh/topology_sync.hpp): empty = not
  /// offered, and the key is left out.
  std::string weft_gossip;
};

/// PeerNameFlavour, Name, NickName, UID, ConnID, ShortID, Trusted and Overlays (all 8 keys), plus
/// WeftOverlay and WeftGossip when offered.
Features make_features(const LocalFeatures& f);

/// The remote peer's features, validated.
struct RemoteFeatures {
  PeerName name;
  std::string nickname;
  std::uint64_t uid = 0;
  std::uint64_t conn_id = 0;
  std::optional<ShortID> short_id;  ///< absent => HasShortID = false
  bool trusted = false;             ///< the remote trusts us (absent => false)
  /// Space-separated names in preference order; absent => compat sleeve overlay (spec §5.3).
  std::optional<std::vector<std::string>> overlays;
  /// "WeftOverlay" words (a weft peer's extended-overlay offer); absent => a Weave peer, or a
  /// weft peer not offering it.
  std::optional<std::vector<std::string>> weft_overlay;
  /// "WeftGossip" words (the topology digest versions a weft peer speaks); absent => Weave.
  std::optional<std::vector<std::string>> weft_gossip;
  bool operator==(const RemoteFeatures&) const = default;
};

/// Validates the map like mesh `parseFeatures`: PeerNameFlavour (must be "mac"), Name, NickName,
/// UID and ConnID are required; ShortID (0..4095), Trusted (Go ParseBool) and Overlays are
/// optional. Unknown keys are ignored.
Result<RemoteFeatures> parse_remote_features(const Features& f);

/// ourConnID XOR theirConnID: identical at both ends; used in sleeve heartbeats and IPsec.
inline std::uint64_t connection_uid(std::uint64_t our_conn_id, std::uint64_t their_conn_id) {
  return our_conn_id ^ their_conn_id;
}

// ---------------------------------------------------------------------------------------------
// Handshake

struct HandshakeParams {
  Side side = Side::outbound;      ///< outbound = we dialled
  std::optional<Bytes> password;   ///< set => the TCP stream is encrypted
  Features features;               ///< ours, sent as the first message (see make_features)
};

/// What a completed handshake hands to the connection.
struct HandshakeResult {
  std::uint8_t version = 0;
  Features features;  ///< the remote's, unvalidated (see parse_remote_features)
  std::optional<SessionKey> session_key;  ///< set iff encrypted; also keys the sleeve
  std::optional<TcpSealer> sealer;        ///< positioned after our features message (seq 1)
  std::optional<TcpOpener> opener;        ///< positioned after their features message (seq 1)
  Bytes leftover;  ///< bytes read past the features message: the start of the message stream
};

/// The intro state machine. Single-threaded; owned by one connection.
///
///   Handshake hs(params, ephemeral);
///   write(hs.start());
///   while (!hs.done()) { auto out = hs.feed(read_some()); if (!out) close(); write(*out); }
///   auto result = hs.take_result();
class Handshake {
 public:
  /// `ephemeral` is used iff a password is set (it must then be present; a side without a
  /// password generates no key pair, like Go).
  Handshake(HandshakeParams params, std::optional<KeyPair> ephemeral);
  /// Draws the ephemeral key pair from `rng` when a password is set.
  static Handshake create(HandshakeParams params, Random& rng);

  /// The protocol header, to write as soon as the TCP connection is up. Idempotent: the header
  /// is returned once, later calls return nothing.
  Bytes start();
  /// Consumes bytes read from the socket (any chunking) and returns the bytes to write now,
  /// possibly none. Implies start(). An error is final: close the connection. Bytes fed after
  /// done() are appended to the result's leftover.
  Result<Bytes> feed(ByteSpan chunk);
  bool done() const { return state_ == State::done; }
  bool failed() const { return state_ == State::failed; }
  /// After done(): moves the result out (once).
  HandshakeResult take_result();

 private:
  enum class State : std::uint8_t { header, flag, public_key, features, done, failed };
  Result<void> step(Bytes& out);
  Result<void> fail(Error e);

  HandshakeParams params_;
  std::optional<KeyPair> ephemeral_;
  State state_ = State::header;
  bool started_ = false;
  Bytes in_;  ///< intro bytes not yet consumed (header, flag, key)
  FrameReader frames_{kMaxFeaturesMessageSize};
  HandshakeResult result_;
  std::optional<Error> error_;
};

// ---------------------------------------------------------------------------------------------
// Message layer

struct ProtocolMessage {
  ProtocolTag tag = ProtocolTag::heartbeat;
  Bytes payload;
  bool operator==(const ProtocolMessage&) const = default;
};

/// Reads the message stream after the intro: frames, opens them (if encrypted) and splits off
/// the tag. Empty messages are skipped (Go ignores them), as are tag-7 messages with an empty
/// payload (a Go peer would index an empty slice with them, so they are never forwarded).
/// Unknown tags are returned: the caller logs and ignores them.
class MessageReader {
 public:
  explicit MessageReader(std::optional<TcpOpener> opener) : opener_(std::move(opener)) {}
  /// Takes over the opener and the leftover bytes of a finished handshake.
  static MessageReader from_handshake(HandshakeResult& r);
  void feed(ByteSpan chunk) { frames_.feed(chunk); }
  /// The next message, or nullopt when more bytes are needed. An error (oversize frame, message
  /// that fails to open) is final: close the connection.
  Result<std::optional<ProtocolMessage>> next();
  std::uint64_t skipped_for_test() const { return skipped_; }

 private:
  FrameReader frames_;
  std::optional<TcpOpener> opener_;
  std::optional<Error> error_;
  std::uint64_t skipped_ = 0;
};

/// Builds the bytes of outgoing messages: <[4] length> <sealed(tag ‖ payload)>.
class MessageWriter {
 public:
  explicit MessageWriter(std::optional<TcpSealer> sealer) : sealer_(std::move(sealer)) {}
  /// Takes over the sealer of a finished handshake.
  static MessageWriter from_handshake(HandshakeResult& r);
  /// Appends one framed message to `out`. Fails, leaving `out` and the sequence number as they
  /// were, for a message over the size limit or a tag-7 message with an empty payload.
  Result<void> append(Bytes& out, ProtocolTag tag, ByteSpan payload);
  Result<Bytes> encode(ProtocolTag tag, ByteSpan payload);

 private:
  std::optional<TcpSealer> sealer_;
  Bytes scratch_;
};

}  // namespace weft::mesh
