#pragma once
// The sleeve overlay (spec §4): frame records in UDP datagrams, per-connection forwarders with
// heartbeats, connection-establishment control messages over TCP, PMTU handling, the
// fragmentation test, NaCl encryption with DF/non-DF sequence spaces and replay windows.
//
//   datagram  = <[6] sender PeerName> <records>                                 (plain)
//             | <[6] sender> <[8] seqNoAndDF BE> <[16] tag> <secretbox(records)> (encrypted)
//   record    = <[6] src PeerName> <[6] dst PeerName> <[2] BE length> <Ethernet frame>
//   special   = a record whose first 14 frame bytes are zero: 22 bytes = heartbeat (connUID BE at
//               14..21), 60001 = fragmentation test, 60000 = PMTU trigger, other = MTU test
//
// Pure: the shell feeds it datagrams, TCP control messages and time; it returns datagrams to
// send, control messages to write, frames for the forwarder and local injection, and events.
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "weft/base/clock.hpp"
#include "weft/base/peer_name.hpp"
#include "weft/datapath/underlay.hpp"
#include "weft/mesh/handshake.hpp"
#include "weft/mesh/mesh_core.hpp"
#include "weft/mesh/session_crypto.hpp"
#include "weft/router/superframe.hpp"

namespace weft::router {

inline constexpr std::size_t kSleevePlainOverhead = 6;
inline constexpr std::size_t kSleeveEncryptedOverhead = 6 + mesh::kSleeveCryptoOverhead;  // 30
inline constexpr std::size_t kFrameRecordOverhead = 14;
inline constexpr std::size_t kMaxUdpPayload = 65507;
inline constexpr std::size_t kMaxFramesPerBurst = 100;
/// IP+UDP (28) + packet overhead + record overhead (14) + Ethernet header (14).
inline constexpr std::size_t overhead_df(bool encrypted) {
  return 28 + (encrypted ? kSleeveEncryptedOverhead : kSleevePlainOverhead) + kFrameRecordOverhead + 14;
}

inline constexpr std::uint8_t kSubConnectionEstablished = 1;
inline constexpr std::uint8_t kSubFragmentationReceived = 2;
inline constexpr std::uint8_t kSubPmtuVerified = 3;

inline constexpr std::size_t kHeartbeatFrameLen = 22;
inline constexpr std::size_t kFragTestFrameLen = 60001;
inline constexpr std::size_t kPmtuTriggerFrameLen = 60000;

struct FrameRecordView {
  PeerName src;
  PeerName dst;
  std::span<const std::uint8_t> frame;
  /// Set for frames of the extended overlay (superframe.hpp): the frame's virtio_net_hdr, already
  /// checked against it (vnet_header_fits). Sleeve frames have none: they are complete.
  std::optional<datapath::VnetHeader> vnet = std::nullopt;
};

/// Parses frame records; stops at the first malformed one (earlier records stay valid) and
/// reports it through `malformed`.
std::vector<FrameRecordView> parse_frame_records(std::span<const std::uint8_t> body, bool& malformed);
void append_frame_record(Bytes& out, PeerName src, PeerName dst, std::span<const std::uint8_t> frame);

struct SleeveStats {
  std::uint64_t rx_datagrams = 0;
  std::uint64_t rx_frames = 0;
  std::uint64_t tx_datagrams = 0;
  std::uint64_t tx_frames = 0;
  std::uint64_t rx_unknown_sender = 0;
  std::uint64_t rx_decrypt_errors = 0;
  std::uint64_t rx_replayed = 0;
  std::uint64_t rx_malformed = 0;
  std::uint64_t tx_dropped = 0;
  std::uint64_t tx_icmp_frag_needed = 0;
  std::uint64_t tx_fragmented = 0;
  std::uint64_t tx_ext_frames = 0;     ///< frames sent on the extended overlay
  std::uint64_t tx_ext_datagrams = 0;  ///< their fragment datagrams
  std::uint64_t rx_ext_frames = 0;     ///< frames reassembled (and opened) from it
  std::uint64_t rx_ext_incomplete = 0; ///< frames given up on (a fragment lost or conflicting)
  std::uint64_t tx_unsendable = 0;     ///< frames with offload headers that could not be segmented
};

/// What the sleeve wants done.
struct SleeveEffects {
  struct Datagram {
    datapath::UdpEndpoint to;
    Bytes data;
    bool df = false;
    PeerName peer;  ///< the forwarder it belongs to (for EMSGSIZE feedback)
    /// Non-empty: `data` holds several datagrams back to back, of these sizes (the fragments of
    /// one extended-overlay frame, all but the last the same size: one UDP GSO train).
    std::vector<std::size_t> train;
  };
  std::vector<Datagram> datagrams;
  struct Control {
    mesh::ConnId conn;
    mesh::ProtocolTag tag;
    Bytes payload;
  };
  std::vector<Control> controls;
  std::vector<mesh::ConnId> established;  ///< mark these mesh connections established
  std::vector<std::pair<mesh::ConnId, std::string>> failed;  ///< forwarder failed: close connection
  std::vector<Bytes> inject;  ///< frames for the local bridge (e.g. ICMP frag-needed)
  /// Frames to send over the overlay as if peer `src` had sent them to peer `dst`: the ICMP
  /// "fragmentation needed" for a frame this peer relays goes back to the frame's sender (put on
  /// the local bridge it would die there: the bridge never sends a frame back out of the port it
  /// learned the sender's MAC on). The shell routes them like any relayed frame.
  struct Reply {
    PeerName src;
    PeerName dst;
    Bytes frame;
  };
  std::vector<Reply> replies;

  /// Empties every list, keeping its capacity (the shell reuses one SleeveEffects per burst;
  /// Sleeve::recycle also keeps the datagrams' buffers).
  void clear() {
    datagrams.clear();
    controls.clear();
    established.clear();
    failed.clear();
    inject.clear();
    replies.clear();
  }
};

struct SleeveConnection {
  mesh::ConnId conn = 0;
  PeerName remote;
  std::uint64_t conn_uid = 0;
  bool outbound = false;
  std::optional<datapath::UdpEndpoint> remote_addr;  ///< outbound: the TCP peer's ip:port
  std::optional<mesh::SessionKey> key;               ///< set => encrypted sleeve
  bool compat = false;                               ///< remote sent no Overlays: tags 1/2/3
  std::uint8_t index = 0;                            ///< our sleeve index in the common overlays
  /// Both ends offered weft's extended overlay (negotiate_extended); with a key, frames on it are
  /// sealed with `ext_aead`.
  bool extended = false;
  Aead ext_aead = Aead::chacha20poly1305;
};

class Sleeve {
 public:
  static constexpr Duration kFastHeartbeat = std::chrono::milliseconds(500);
  static constexpr Duration kSlowHeartbeat = std::chrono::seconds(10);
  static constexpr Duration kHeartbeatTimeout = std::chrono::seconds(60);
  static constexpr Duration kFragTestInterval = std::chrono::minutes(5);

  /// `mtu` = the overlay MTU used until PMTU discovery says otherwise.
  Sleeve(PeerName self, int mtu) : self_(self), default_mtu_(mtu) {}

  /// Common overlay negotiation (spec §5.3) for our advertisement ["sleeve"]: the index, or an
  /// error when the remote advertises overlays without sleeve.
  static Result<std::optional<std::uint8_t>> negotiate(const mesh::RemoteFeatures& remote);

  /// A mesh connection was added: start its forwarder (heartbeats at 500 ms).
  void add_connection(TimePoint now, const SleeveConnection& c, SleeveEffects& fx);
  void remove_connection(mesh::ConnId conn);
  /// Tags 1/2/3/7 from the connection.
  void on_control(TimePoint now, mesh::ConnId conn, mesh::ProtocolTag tag, std::span<const std::uint8_t> payload,
                  SleeveEffects& fx);
  /// A UDP datagram. Data frames go to `frames` (views into `data` or into an internal buffer that
  /// stays valid until the next call).
  void on_datagram(TimePoint now, const datapath::UdpEndpoint& from, std::span<const std::uint8_t> data,
                   std::vector<FrameRecordView>& frames, SleeveEffects& fx);
  /// Sends a frame to neighbour `next_hop` the way the path allows (the forwarding decision for
  /// one frame; `vnet` null = a complete frame without a virtio_net_hdr):
  ///   * a complete frame (no header, or one asking for nothing) joins the sleeve's batch
  ///     (send_frame);
  ///   * a superframe (GSO), or a frame bigger than the path MTU with a partial checksum, goes
  ///     whole on the extended overlay when the peer speaks it (send_superframe);
  ///   * otherwise it is cut into complete frames of at most the path MTU, checksums completed
  ///     (plain_frames), which join the batch: a Weave peer, or a small frame whose checksum was
  ///     merely partial, so that many share one datagram. One that cannot be cut is counted
  ///     (tx_unsendable) and dropped.
  void send(TimePoint now, PeerName next_hop, PeerName src, PeerName dst, std::span<const std::uint8_t> frame,
            const datapath::VnetHeader* vnet, SleeveEffects& fx);
  /// Queues a frame to neighbour `next_hop`; datagrams are built in flush().
  void send_frame(TimePoint now, PeerName next_hop, PeerName src, PeerName dst, std::span<const std::uint8_t> frame,
                  SleeveEffects& fx);
  /// True if frames to neighbour `next_hop` may go on the extended overlay (send_superframe).
  bool extended_to(PeerName next_hop) const;
  /// Queues a frame with its virtio_net_hdr on the extended overlay: its fragment datagrams are
  /// added to fx.datagrams at once, after anything already pending for that peer (order kept).
  void send_superframe(TimePoint now, PeerName next_hop, PeerName src, PeerName dst,
                       std::span<const std::uint8_t> frame, const datapath::VnetHeader& vnet, SleeveEffects& fx);
  /// Closes every datagram under construction into fx.datagrams.
  void flush(SleeveEffects& fx);
  /// The shell is done with fx (its datagrams were sent): keeps their buffers for the next
  /// datagrams (a bounded pool) and clears fx, keeping its capacity. Optional; cheap.
  void recycle(SleeveEffects& fx);
  /// A DF send failed with EMSGSIZE; `path_mtu` from IP_MTU.
  void on_emsgsize(PeerName peer, int path_mtu);
  /// Heartbeats, timeouts, frag tests. Returns the next deadline.
  TimePoint on_tick(TimePoint now, SleeveEffects& fx);

  struct ForwarderStatus {
    mesh::ConnId conn;
    PeerName remote;
    bool established;
    bool encrypted;
    int mtu;
    std::optional<datapath::UdpEndpoint> remote_addr;
    std::uint64_t tx_frames, tx_bytes, rx_frames, rx_bytes;
    std::optional<Aead> extended;  ///< set when the extended overlay is on (none = unsealed)
  };
  std::vector<ForwarderStatus> status() const;
  const SleeveStats& stats() const { return stats_; }
  std::optional<int> mtu_to(PeerName peer) const;

 private:
  /// NB: a plain datagram is built in place: `buf` is empty, or holds our 6-byte name followed
  /// by the records, and becomes the datagram's data at close (no copy). Encrypted, the records
  /// behind the name are sealed into the datagram instead.
  struct Pending {
    Bytes buf;
    std::size_t frames = 0;
  };
  struct Fwd {
    SleeveConnection c;
    std::optional<mesh::SleeveEncryptors> enc;
    std::optional<mesh::SleeveDecryptor> dec;
    bool heard = false;        ///< a valid heartbeat arrived
    bool established = false;  ///< remote confirmed it hears ours (ConnectionEstablished)
    bool stack_frag = false;
    TimePoint last_rx{};
    TimePoint next_hb{};
    TimePoint next_frag_test{};
    Duration hb_interval = kFastHeartbeat;
    int mtu = 0;
    std::size_t max_payload = kMaxUdpPayload;
    std::uint64_t tx_frames = 0, tx_bytes = 0, rx_frames = 0, rx_bytes = 0;
    Pending df, non_df;
    // Extended overlay (c.extended).
    std::unique_ptr<ExtSealer> ext_sealer;  ///< set when sealed
    std::uint64_t ext_next_id = 0;
    ReplayWindow ext_replay;
    Reassembler reasm;
  };
  void on_extended(Fwd& f, std::span<const std::uint8_t> data, std::vector<FrameRecordView>& frames);
  std::size_t packet_overhead(const Fwd& f) const;
  void send_special(Fwd& f, std::size_t len, bool df, SleeveEffects& fx, std::uint64_t uid = 0);
  void control(Fwd& f, std::uint8_t sub, std::span<const std::uint8_t> payload, SleeveEffects& fx);
  void close_pending(Fwd& f, Pending& p, bool df, SleeveEffects& fx);
  void append_record(Pending& p, PeerName src, PeerName dst, std::span<const std::uint8_t> frame);
  void superframe(Fwd& f, PeerName src, PeerName dst, std::span<const std::uint8_t> frame,
                  const datapath::VnetHeader& vnet, SleeveEffects& fx);
  SleeveEffects::Datagram new_datagram();
  void queue_record(Fwd& f, bool df, PeerName src, PeerName dst, std::span<const std::uint8_t> frame,
                    SleeveEffects& fx);
  void heartbeat(Fwd& f, SleeveEffects& fx);
  Fwd* by_peer(PeerName p);
  const Fwd* by_peer(PeerName p) const;
  Fwd* by_conn(mesh::ConnId c);

  PeerName self_;
  int default_mtu_;
  std::map<mesh::ConnId, Fwd> fwds_;
  std::map<PeerName, mesh::ConnId> by_peer_;
  Bytes plain_;  ///< decrypted records of the current datagram
  SleeveStats stats_;
  // Scratch space reused from frame to frame (never shared with another Sleeve).
  std::vector<SleeveEffects::Datagram> spare_;  ///< recycled datagrams: buffers with capacity
  Bytes seal_scratch_;                          ///< a sealed superframe before it is cut
  Bytes frag_arena_;                            ///< IPv4 fragments of one frame
  std::vector<std::span<const std::uint8_t>> frags_;
  Bytes seg_arena_;  ///< segments of one superframe (plain_frames)
  std::vector<std::span<const std::uint8_t>> segs_;
};

}  // namespace weft::router
