#include "weft/datapath/loopback_underlay.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace weft::datapath {

namespace {
constexpr std::size_t kIpUdpHeaders = 28;
}  // namespace

LoopbackNet::LoopbackNet(std::uint64_t seed) : state_(std::make_shared<State>(seed)) {}

LoopbackNet::~LoopbackNet() = default;

std::unique_ptr<LoopbackUnderlay> LoopbackNet::bind(UdpEndpoint local) {
  if (local.port == 0) {
    for (int tries = 0; tries < 65536; ++tries) {
      UdpEndpoint cand{local.ip, state_->next_port};
      state_->next_port = state_->next_port == 65535 ? 32768 : state_->next_port + 1;
      if (!state_->bound.contains(cand)) {
        local = cand;
        break;
      }
    }
    if (local.port == 0) {
      return nullptr;
    }
  }
  if (state_->bound.contains(local)) {
    return nullptr;
  }
  std::unique_ptr<LoopbackUnderlay> u(new LoopbackUnderlay(state_, local));
  state_->bound[local] = u.get();
  return u;
}

int LoopbackNet::path_mtu(UdpEndpoint to) const {
  auto it = state_->mtu_to.find(to);
  return it != state_->mtu_to.end() ? it->second : state_->mtu;
}

LoopbackUnderlay::LoopbackUnderlay(std::shared_ptr<LoopbackNet::State> net, UdpEndpoint local)
    : net_(std::move(net)), local_(local), event_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

LoopbackUnderlay::~LoopbackUnderlay() {
  net_->bound.erase(local_);
  if (event_fd_ >= 0) {
    ::close(event_fd_);
  }
}

void LoopbackUnderlay::update_event_fd() {
  // NB: same scheme as FakeDatapath: counter 1 while queued, 0 when empty.
  if (event_fd_ < 0) {
    return;
  }
  const bool want = !queue_.empty();
  if (want == signalled_) {
    return;
  }
  std::uint64_t v = 1;
  const ssize_t n = want ? ::write(event_fd_, &v, sizeof v) : ::read(event_fd_, &v, sizeof v);
  if (n == static_cast<ssize_t>(sizeof v)) {
    signalled_ = want;
  }
}

void LoopbackUnderlay::deliver(UdpEndpoint from, std::span<const std::uint8_t> data) {
  queue_.push_back(Queued{from, Bytes(data.begin(), data.end())});
  update_event_fd();
}

std::size_t LoopbackUnderlay::receive(std::span<DatagramIn> out) {
  batch_.clear();
  while (batch_.size() < out.size() && !queue_.empty()) {
    batch_.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  for (std::size_t i = 0; i < batch_.size(); ++i) {
    out[i] = DatagramIn{batch_[i].from, batch_[i].data};
    ++stats_.rx_datagrams;
    stats_.rx_bytes += batch_[i].data.size();
  }
  update_event_fd();
  return batch_.size();
}

std::size_t LoopbackUnderlay::send(std::span<const DatagramOut> batch, SendError* err) {
  auto& net = *net_;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const auto& d = batch[i];
    auto mtu_it = net.mtu_to.find(d.to);
    const int mtu = mtu_it != net.mtu_to.end() ? mtu_it->second : net.mtu;
    const bool too_big = d.data.size() > LoopbackNet::kMaxUdpPayload ||
                         (d.df && d.data.size() + kIpUdpHeaders > static_cast<std::size_t>(mtu));
    if (too_big) {
      ++stats_.tx_errors;
      if (err != nullptr) {
        *err = SendError{i, EMSGSIZE, mtu};
      }
      return i;
    }
    ++stats_.tx_datagrams;
    stats_.tx_bytes += d.data.size();
    auto dst = net.bound.find(d.to);
    if (dst == net.bound.end() || (net.loss > 0 && net.random.unit() < net.loss)) {
      ++net.lost;
      continue;
    }
    ++net.delivered;
    dst->second->deliver(local_, d.data);
  }
  return batch.size();
}

}  // namespace weft::datapath
