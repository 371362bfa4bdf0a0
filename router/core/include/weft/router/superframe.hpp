#pragma once
// weft's extended overlay (issue 8): used only between two weft peers that both offered it in the
// handshake ("WeftOverlay" feature); Weave peers never see it and keep the exact sleeve format.
//
// What it adds to the sleeve: an Ethernet frame travels *with its virtio_net_hdr*, so a TSO/GSO
// superframe (up to 64 KiB of TCP) captured whole on one host is injected whole on the other, and
// frames with partial checksums stay partial (the receiving kernel finishes or trusts them). A
// frame is cut into equal-sized fragment datagrams that the UDP underlay sends as one UDP GSO
// train and receives as one GRO buffer. With a password, each frame is sealed once with an AEAD
// (AES-256-GCM where both ends have AES-NI, else ChaCha20-Poly1305-IETF) instead of per datagram.
//
// Fragment datagram, sent on the sleeve's UDP port (all integers big-endian):
//
//   0  [6] sender PeerName          (as in the sleeve: selects the forwarder)
//   6  [8] marker FF FF FF FF FF FF 57 58
//  14  [1] version 1 (high nibble) | flags (bit 0: sealed)
//  15  [1] AEAD: 0 none, 1 AES-256-GCM, 2 ChaCha20-Poly1305-IETF
//  16  [1] fragment index  17 [1] fragment count (1..255)
//  18  [8] frame id: per forwarder and direction, +1 per frame; the AEAD nonce
//  26  [6] src PeerName  32 [6] dst PeerName
//  38  [4] total: payload bytes of the whole frame (with the 16-byte tag when sealed)
//  42  [4] offset of this fragment's chunk in the payload
//  46 [10] virtio_net_hdr of the frame (datapath/core vnet_header.hpp layout)
//  56      chunk
//
// Why the marker cannot be confused with a sleeve datagram from the same sender: in a plain
// sleeve datagram bytes 6..11 are the src PeerName of the first record, and ff:ff:ff:ff:ff:ff is
// the broadcast MAC, never a peer name; in a sealed one bytes 6..13 are seqNoAndDF, and
// 0xFFFFFFFFFFFF5758 would need 2^63 datagrams first. A receiver only looks for the marker on
// forwarders that negotiated the extension.
//
// Sealing: key = BLAKE2b-256(key = session key, "weft extended overlay 1 " + AEAD name); nonce
// (12 bytes) = [sender-is-outbound << 7, 0, 0, 0] ++ frame id; additional data = bytes 14..15
// and 26..41 and 46..55 of the header (everything but index, count, id and offset, which the
// nonce or reassembly bind). Replayed ids are dropped (a 1024-id window), as the sleeve does.
//
// Pure: no sockets, no clocks; decoders never throw and check every field.
#include <array>
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "weft/base/bytes.hpp"
#include "weft/base/peer_name.hpp"
#include "weft/datapath/vnet_header.hpp"
#include "weft/mesh/session_crypto.hpp"

namespace weft::router {

inline constexpr std::size_t kExtHeaderLen = 56;
inline constexpr std::size_t kExtTagLen = 16;
inline constexpr std::uint8_t kExtVersion = 1;
/// Largest frame payload accepted (a 64 KiB IP packet + Ethernet/VLAN headers + tag, rounded up).
inline constexpr std::size_t kExtMaxTotal = 65536 + 64;
inline constexpr std::size_t kExtMaxFragments = 255;
inline constexpr std::array<std::uint8_t, 8> kExtMarker{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x57, 0x58};

enum class Aead : std::uint8_t { none = 0, aes256gcm = 1, chacha20poly1305 = 2 };
std::string_view aead_name(Aead a);

/// Our "WeftOverlay" feature value: "1" and the AEADs this machine can run, best first.
std::string extended_overlay_offer();
/// What two offers agree on: nullopt = no extension (the remote offered none, or another
/// version); else the AEAD to seal with when the connection is encrypted (the first of ours the
/// remote also lists; chacha20poly1305 is always available). Symmetric as long as both ends list
/// AEADs in the same global order (AES-GCM first), which every weft does.
std::optional<Aead> negotiate_extended(const std::vector<std::string>& ours,
                                       const std::optional<std::vector<std::string>>& theirs);

/// True if `datagram` (a whole UDP payload, sender name included) carries the marker.
bool is_extended_fragment(std::span<const std::uint8_t> datagram);

struct ExtFragment {
  PeerName sender;
  bool sealed = false;
  Aead aead = Aead::none;
  std::uint8_t index = 0;
  std::uint8_t count = 0;
  std::uint64_t id = 0;
  PeerName src;
  PeerName dst;
  std::uint32_t total = 0;
  std::uint32_t offset = 0;
  datapath::VnetHeader vnet;
  std::span<const std::uint8_t> chunk;
};

/// Decodes and checks one fragment datagram: marker, version, AEAD known (and none iff not
/// sealed), 1 <= count <= 255, index < count, total <= kExtMaxTotal (and >= the tag when
/// sealed), a non-empty chunk with offset + chunk <= total. nullopt otherwise.
std::optional<ExtFragment> parse_extended_fragment(std::span<const std::uint8_t> datagram);

/// The AEAD keys of one connection (both directions share the key; the nonce's direction bit
/// keeps them apart).
class ExtSealer {
 public:
  ExtSealer(const mesh::SessionKey& session, Aead aead, bool we_are_outbound);
  ~ExtSealer();
  ExtSealer(const ExtSealer&) = delete;
  ExtSealer& operator=(const ExtSealer&) = delete;
  Aead aead() const { return aead_; }
  /// Encrypts `plain` into out[0..plain.size()+16) (out must have room). `ad` as described above.
  void seal(std::span<std::uint8_t> out, std::span<const std::uint8_t> plain, std::span<const std::uint8_t> ad,
            std::uint64_t id) const;
  /// Decrypts in place: `buf` = ciphertext ++ tag; on success the first buf.size()-16 bytes are
  /// the plaintext. False (buf unspecified) on authentication failure.
  bool open(std::span<std::uint8_t> buf, std::span<const std::uint8_t> ad, std::uint64_t id) const;

 private:
  void nonce(std::uint8_t* n, std::uint64_t id, bool sender_outbound) const;
  Aead aead_;
  bool outbound_;
  std::array<std::uint8_t, 32> key_{};
  void* aes_state_ = nullptr;  ///< crypto_aead_aes256gcm_state (16-byte aligned), when AES-GCM
};

/// The additional data for sealing (28 bytes) from the header fields it covers.
std::array<std::uint8_t, 28> extended_ad(bool sealed, Aead aead, PeerName src, PeerName dst, std::uint32_t total,
                                         const datapath::VnetHeader& vnet);

/// Builds the fragment datagrams of one frame back to back into `out` (cleared first): every
/// datagram but the last is exactly `datagram_size` bytes. Returns the size of each datagram in
/// `sizes`. `sealer` null = plain. False if the frame is too big for 255 fragments or
/// kExtMaxTotal, or datagram_size leaves no room for a chunk. A sealed frame is sealed into
/// `scratch` first (the AEAD writes contiguously; the caller keeps it, so it only grows).
bool build_extended_fragments(Bytes& out, std::vector<std::size_t>& sizes, PeerName sender, PeerName src, PeerName dst,
                              std::uint64_t id, const datapath::VnetHeader& vnet, std::span<const std::uint8_t> frame,
                              std::size_t datagram_size, const ExtSealer* sealer, Bytes& scratch);
/// The same with a scratch buffer of its own (allocated per call when sealing: tests, one-offs).
bool build_extended_fragments(Bytes& out, std::vector<std::size_t>& sizes, PeerName sender, PeerName src,
                              PeerName dst, std::uint64_t id, const datapath::VnetHeader& vnet,
                              std::span<const std::uint8_t> frame, std::size_t datagram_size,
                              const ExtSealer* sealer);

/// A window of recently accepted ids (replay protection for sealed frames).
class ReplayWindow {
 public:
  static constexpr std::uint64_t kSize = 1024;
  /// True if `id` is new (not seen and not older than the window). Does not record it.
  bool check(std::uint64_t id) const;
  void accept(std::uint64_t id);

 private:
  std::uint64_t top_ = 0;  ///< highest accepted id + 1 (0 = none yet)
  std::bitset<kSize> seen_;
};

/// Reassembles frames from fragments of one sender. Keeps a few frames in progress (fragments of
/// different frames may interleave when datagrams are reordered); the oldest is evicted when a
/// new id arrives and all slots are busy. Coverage is tracked per fragment: a fragment that
/// overlaps bytes already received is ignored when it repeats them exactly and drops the frame
/// when it differs, and a frame completes only when every byte of it arrived for it (a slot's
/// buffer is reused, so bytes of an earlier frame must never be delivered; issue 18, item 4).
class Reassembler {
 public:
  static constexpr std::size_t kSlots = 4;
  struct Done {
    PeerName src, dst;
    datapath::VnetHeader vnet;
    std::uint64_t id = 0;
    bool sealed = false;
    Aead aead = Aead::none;
    std::span<std::uint8_t> payload;  ///< valid until the next add()
  };
  enum class Outcome { partial, complete, dropped };
  /// Adds a fragment; on `complete`, `done` describes the whole payload (still sealed if it was).
  /// `dropped` = the fragment conflicts with the frame in progress (the frame is discarded).
  Outcome add(const ExtFragment& f, Done& done);
  std::uint64_t evicted() const { return evicted_; }

 private:
  struct Slot {
    bool used = false;
    std::uint64_t id = 0;
    std::uint64_t age = 0;
    ExtFragment first;  ///< header fields every fragment must repeat (chunk unused)
    std::size_t received = 0;
    std::bitset<kExtMaxFragments + 1> have;
    std::array<std::uint32_t, kExtMaxFragments + 1> begin{};  ///< chunk of each fragment in `have`
    std::array<std::uint32_t, kExtMaxFragments + 1> end{};
    Bytes buf;
  };
  std::array<Slot, kSlots> slots_;
  std::uint64_t clock_ = 0;
  std::uint64_t evicted_ = 0;
};

/// Turns a frame with a virtio_net_hdr into plain, complete Ethernet frames for a peer or bridge
/// without offloads: a GSO superframe is segmented (TCP segments sized to `max_ip_len` when > 0),
/// a partial checksum is completed, anything else passes as is. Segments are written to `arena`
/// (resized; views stay valid until it is next used). False if the frame cannot be handled (an
/// unsupported GSO type, bad offsets): drop it.
bool plain_frames(std::span<const std::uint8_t> frame, const datapath::VnetHeader& vnet, std::size_t max_ip_len,
                  Bytes& arena, std::vector<std::span<const std::uint8_t>>& out);

/// Checks a received virtio_net_hdr against its frame before injecting it: a GSO frame must be
/// one plan_gso accepts, a partial checksum must lie inside the frame.
bool vnet_header_fits(std::span<const std::uint8_t> frame, const datapath::VnetHeader& vnet);

}  // namespace weft::router
