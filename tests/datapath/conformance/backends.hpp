#pragma once
// The backends the datapath conformance suite runs (tests/datapath/conformance): every Datapath
// this build has, each as a factory that opens it on the test's link together with that link's
// far end, plus what the contract lets a backend choose (its batch ceiling, whether it offers
// vnet headers, whether its wait_fd is exact or a poll timer).
#include <cstddef>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "far_end.hpp"
#include "weft/base/result.hpp"
#include "weft/datapath/datapath.hpp"

namespace weft::datapath::test {

/// The test's link: a veth pair made in the test's private namespace. The backend sits on
/// kBackendIf; the far end is kFarIf.
inline constexpr const char* kBackendIf = "weftc0";
inline constexpr const char* kFarIf = "weftc1";

struct OpenSpec {
  /// A capture ring of a few dozen frames at most, to make it overflow.
  bool small_ring = false;
};

struct Opened {
  std::unique_ptr<Datapath> dp;
  std::unique_ptr<FarEnd> far;
  std::shared_ptr<void> keep;  ///< whatever else the case needs alive (the kernel fast path)
};

struct BackendCase {
  std::string name;  ///< the gtest parameter name and the ctest entry's suffix
  /// On a veth pair in a private network namespace (root). False only for the in-memory fake.
  bool needs_link = true;
  /// The link is a veth pair the runner makes; false: the backend makes its own (DPDK net_tap).
  bool veth = true;
  /// Offers VnetDatapath: superframes whole with their virtio_net_hdr, in and out.
  bool vnet = false;
  /// wait_fd() is readable only while receive() may return frames; false for a poll timer.
  bool exact_wakeups = true;
  /// Frames the capture ring lost are counted as rx_dropped. False only where the backend cannot
  /// see them (DPDK 22.11's net_af_packet PMD keeps no drop statistics): a known gap, which the
  /// overflow test then pins down instead of the count.
  bool ring_drops_counted = true;
  /// The most frames one receive() returns, whatever out.size(); 0 = out.size().
  std::size_t max_batch = 0;
  /// Median budget, in microseconds, from a frame entering the idle link to receive() having it.
  double wake_p50_us = 5000;
  std::function<Result<Opened>(const OpenSpec&)> open;
};

/// gtest prints a parameter by its name.
inline void PrintTo(const BackendCase& c, std::ostream* os) { *os << c.name; }

/// Every backend compiled into this build, the fake first.
std::vector<BackendCase> all_backends();

}  // namespace weft::datapath::test
