#include "weft/mesh_net/tcp_connection.hpp"

namespace weft::mesh_net {

TcpConnection::TcpConnection(tcp::socket socket, ConnectionParams params, mesh::ConnId id, ConnectionOwner& owner,
                             Random& rng, Logger log)
    : socket_(std::move(socket)),
      params_(std::move(params)),
      id_(id),
      owner_(owner),
      log_(std::move(log)),
      deadline_(socket_.get_executor()),
      heartbeat_(socket_.get_executor()) {
  params_.features.conn_id = rng.next_u64();
  mesh::HandshakeParams hp;
  hp.side = params_.outbound ? mesh::Side::outbound : mesh::Side::inbound;
  hp.password = params_.password;
  hp.features = mesh::make_features(params_.features);
  handshake_.emplace(mesh::Handshake::create(std::move(hp), rng));
}

std::string TcpConnection::local_ip() const {
  boost::system::error_code ec;
  auto ep = socket_.local_endpoint(ec);
  return ec ? std::string{} : ep.address().to_string();
}

std::string TcpConnection::remote_ip() const {
  boost::system::error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  return ec ? std::string{} : ep.address().to_string();
}

std::uint16_t TcpConnection::remote_port() const {
  boost::system::error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  return ec ? 0 : ep.port();
}

void TcpConnection::start() {
  boost::system::error_code ec;
  socket_.set_option(tcp::no_delay(true), ec);
  socket_.set_option(asio::socket_base::linger(true, 0), ec);
  auto hdr = handshake_->start();
  pending_.insert(pending_.end(), hdr.begin(), hdr.end());
  flush();
  arm_read_deadline(kHandshakeTimeout);
  read();
}

void TcpConnection::arm_read_deadline(Duration d) {
  deadline_.expires_after(d);
  deadline_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->closed_) return;
    // A wait that had already expired, with its handler queued, when the deadline was moved
    // (the handshake finished as its 10 s ran out, under load) is not cancelled: its handler runs
    // with no error. It used to close the fresh connection as "no message for 60s".
    if (self->deadline_.expiry() > asio::steady_timer::clock_type::now()) return;
    self->close(self->handshake_ ? "handshake timed out" : "read timed out: no message for 60s");
  });
}

void TcpConnection::arm_heartbeat() {
  heartbeat_.expires_after(kHeartbeatInterval);
  heartbeat_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->closed_) return;
    self->send(mesh::ProtocolTag::heartbeat, {});
    self->arm_heartbeat();
  });
}

void TcpConnection::read() {
  socket_.async_read_some(asio::buffer(rbuf_), [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
    if (self->closed_) return;
    if (ec) {
      std::string why = ec == asio::error::eof ? std::string("EOF") : ec.message();
      // A peer that cannot open our features message (another password) resets the connection
      // before we read its own: say what that most likely means.
      if (self->handshake_ && self->params_.password && self->handshake_seen_key_) {
        why += " (the peer closed the connection during the handshake: is the password the same on both ends?)";
      }
      self->close(why);
      return;
    }
    self->on_read(n);
    if (!self->closed_) self->read();
  });
}

void TcpConnection::on_read(std::size_t n) {
  ByteSpan chunk(rbuf_.data(), n);
  if (handshake_) {
    handshake_bytes_ += n;
    // header (7) + flag (1) + key (32): past that, the peer has our key and we have its.
    if (handshake_bytes_ >= 40) handshake_seen_key_ = true;
    auto out = handshake_->feed(chunk);
    if (!out) return close(out.error().message);
    pending_.insert(pending_.end(), out->begin(), out->end());
    flush();
    if (!handshake_->done()) return;
    auto result = handshake_->take_result();
    handshake_.reset();
    auto remote = mesh::parse_remote_features(result.features);
    if (!remote) return close(remote.error().message);
    reader_.emplace(mesh::MessageReader::from_handshake(result));
    writer_.emplace(mesh::MessageWriter::from_handshake(result));
    if (auto r = owner_.on_handshake_done(*this, result, *remote); !r) return close(r.error().message);
    if (closed_) return;
    arm_read_deadline(kReadTimeout);
    arm_heartbeat();
    chunk = {};  // the leftover was handed to the reader
  } else {
    reader_->feed(chunk);
  }
  for (;;) {
    auto m = reader_->next();
    if (!m) return close(m.error().message);
    if (!m->has_value()) break;
    arm_read_deadline(kReadTimeout);
    owner_.on_message(*this, **m);
    if (closed_) return;
  }
}

void TcpConnection::send(mesh::ProtocolTag tag, ByteSpan payload) {
  if (closed_ || !writer_) return;
  if (pending_.size() + payload.size() > kMaxQueuedBytes) {
    // Closed from the event loop, not here: send() runs inside the owner's effect loop.
    if (!overflowed_) {
      overflowed_ = true;
      asio::post(socket_.get_executor(), [self = shared_from_this()] {
        self->close(fmt::format("peer is not reading: more than {} MiB queued for it", kMaxQueuedBytes >> 20));
      });
    }
    return;
  }
  if (auto r = writer_->append(pending_, tag, payload); !r) {
    log_.warn("dropping message with tag {}: {}", static_cast<int>(tag), r.error().message);
    return;
  }
  flush();
}

void TcpConnection::flush() {
  if (write_in_flight_ || pending_.empty() || closed_) return;
  writing_.swap(pending_);
  pending_.clear();
  write_in_flight_ = true;
  asio::async_write(socket_, asio::buffer(writing_), [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
    self->write_in_flight_ = false;
    self->writing_.clear();
    if (self->closed_) return;
    if (ec) return self->close(ec.message());
    self->flush();
  });
}

void TcpConnection::close(const std::string& reason) {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ec;
  deadline_.cancel();
  heartbeat_.cancel();
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  owner_.on_closed(*this, reason);
}

}  // namespace weft::mesh_net
