#pragma once
// One mesh TCP connection: handshake, framed (and sealed) messages, heartbeats every 30 s and a
// 60 s read deadline (spec §1.1-1.7). It owns no policy: everything it learns goes to its
// ConnectionOwner, on the io_context's single thread.
#include <boost/asio.hpp>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "weft/base/clock.hpp"
#include "weft/base/logger.hpp"
#include "weft/mesh/handshake.hpp"
#include "weft/mesh/mesh_core.hpp"

namespace weft::mesh_net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class TcpConnection;

/// Implemented by MeshNode. Called on the io_context thread.
class ConnectionOwner {
 public:
  virtual ~ConnectionOwner() = default;
  /// The handshake completed. Returning an error closes the connection with that reason.
  virtual Result<void> on_handshake_done(TcpConnection& c, const mesh::HandshakeResult& hs,
                                         const mesh::RemoteFeatures& remote) = 0;
  virtual void on_message(TcpConnection& c, const mesh::ProtocolMessage& m) = 0;
  /// Exactly once per connection, after which the owner drops it.
  virtual void on_closed(TcpConnection& c, const std::string& reason) = 0;
};

struct ConnectionParams {
  bool outbound = false;
  std::string target;  ///< outbound: the address dialled ("ip:port"); inbound: remote ip:port
  bool accept_new_peer = true;
  std::optional<Bytes> password;
  mesh::LocalFeatures features;  ///< conn_id and trusted filled per connection
};

class TcpConnection : public std::enable_shared_from_this<TcpConnection> {
 public:
  static constexpr Duration kHandshakeTimeout = std::chrono::seconds(10);
  /// Unsent bytes a connection may queue; a peer that reads slower than we gossip is closed
  /// instead of growing our memory without bound (issue 18).
  static constexpr std::size_t kMaxQueuedBytes = 32 * 1024 * 1024;
  static constexpr Duration kHeartbeatInterval = std::chrono::seconds(30);
  static constexpr Duration kReadTimeout = std::chrono::seconds(60);

  TcpConnection(tcp::socket socket, ConnectionParams params, mesh::ConnId id, ConnectionOwner& owner,
                Random& rng, Logger log);
  void start();
  /// Queues a message; dropped if the connection is closing.
  void send(mesh::ProtocolTag tag, ByteSpan payload);
  void close(const std::string& reason);

  mesh::ConnId id() const { return id_; }
  const ConnectionParams& params() const { return params_; }
  bool closed() const { return closed_; }
  std::string local_ip() const;
  std::string remote_ip() const;
  std::uint16_t remote_port() const;

 private:
  void read();
  void on_read(std::size_t n);
  void flush();
  void arm_read_deadline(Duration d);
  void arm_heartbeat();

  tcp::socket socket_;
  ConnectionParams params_;
  mesh::ConnId id_;
  ConnectionOwner& owner_;
  Logger log_;
  std::optional<mesh::Handshake> handshake_;
  std::optional<mesh::MessageReader> reader_;
  std::optional<mesh::MessageWriter> writer_;
  asio::steady_timer deadline_;
  asio::steady_timer heartbeat_;
  std::array<std::uint8_t, 64 * 1024> rbuf_{};
  Bytes pending_;  ///< bytes waiting for the in-flight write to finish
  Bytes writing_;
  bool write_in_flight_ = false;
  bool closed_ = false;
  bool overflowed_ = false;  ///< more than kMaxQueuedBytes queued: closing
  std::size_t handshake_bytes_ = 0;
  bool handshake_seen_key_ = false;
};

}  // namespace weft::mesh_net
