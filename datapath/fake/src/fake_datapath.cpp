#include "weft/datapath/fake_datapath.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <utility>

namespace weft::datapath {

FakeDatapath::FakeDatapath(std::string name)
    : name_(std::move(name)), event_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

FakeDatapath::~FakeDatapath() {
  if (event_fd_ >= 0) {
    ::close(event_fd_);
  }
}

void FakeDatapath::update_event_fd() {
  // NB: the eventfd counter is kept at 1 while frames are queued and 0 otherwise, so the fd's
  // readability mirrors "receive() would return something" for poll/epoll/Asio alike.
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

void FakeDatapath::inject_from_bridge(Bytes frame) {
  if (capacity_ && queue_.size() >= *capacity_) {
    ++stats_.rx_dropped;
    return;
  }
  queue_.push_back(std::move(frame));
  update_event_fd();
}

std::size_t FakeDatapath::receive(std::span<FrameView> out) {
  batch_.clear();
  while (batch_.size() < out.size() && !queue_.empty()) {
    batch_.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  for (std::size_t i = 0; i < batch_.size(); ++i) {
    out[i] = FrameView{batch_[i]};
    ++stats_.rx_frames;
    stats_.rx_bytes += batch_[i].size();
  }
  update_event_fd();
  return batch_.size();
}

std::size_t FakeDatapath::send(std::span<const FrameView> frames) {
  std::size_t accepted = 0;
  for (const auto& f : frames) {
    if ((send_budget_ && *send_budget_ == 0) || (mtu_ && f.data.size() > *mtu_ + 14)) {
      ++stats_.tx_dropped;
      continue;
    }
    if (send_budget_) {
      --*send_budget_;
    }
    sent_.emplace_back(f.data.begin(), f.data.end());
    ++stats_.tx_frames;
    stats_.tx_bytes += f.data.size();
    ++accepted;
  }
  return accepted;
}

std::vector<Bytes> FakeDatapath::take_sent() {
  return std::exchange(sent_, {});
}

}  // namespace weft::datapath
