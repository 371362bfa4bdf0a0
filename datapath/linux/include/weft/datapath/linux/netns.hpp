#pragma once
// Network namespaces by file descriptor, and running work inside one.
//
// NB: the namespace is `weft::datapath::host`, not `...::linux`: `linux` is a predefined macro
// whenever the compiler runs in a GNU mode (-std=gnu++20), which would break every includer.
//
// How namespaces are used in this library: a network namespace is a property of a *thread*
// (setns(2) and unshare(CLONE_NEWNET) change only the calling thread), and a socket stays in the
// namespace it was created in for its whole life. So:
//   * Rtnl (rtnetlink) takes an optional Netns and opens its socket on a short-lived thread that
//     has entered it; the socket is then usable from any thread.
//   * Everything else (ethtool ioctls, /proc/sys writes, gratuitous ARP) acts in the calling
//     thread's namespace; wrap it in in_netns() to act elsewhere.
// The caller's own thread never changes namespace, so a multi-threaded daemon is safe.
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include "weft/base/result.hpp"

namespace weft::datapath::host {

/// An open network-namespace file descriptor (/run/netns/NAME, /proc/PID/ns/net, ...). Move-only;
/// closes the fd on destruction. Holding it keeps the namespace alive.
class Netns {
 public:
  Netns() = default;
  ~Netns();
  Netns(Netns&& o) noexcept : fd_(std::exchange(o.fd_, -1)), inode_(o.inode_) {}
  Netns& operator=(Netns&& o) noexcept;
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;

  /// Opens PATH and checks that it is a network namespace.
  static Result<Netns> open(const std::string& path);
  /// The calling thread's network namespace (/proc/thread-self/ns/net).
  static Result<Netns> current();
  /// A brand-new, empty network namespace (only `lo`, down), created by unshare(CLONE_NEWNET) on
  /// a throw-away thread; nothing else ever runs in it unless the caller enters it. Tests use this
  /// to get a private namespace without touching the caller's.
  static Result<Netns> create();

  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  /// The nsfs inode number: equal inodes mean the same namespace.
  std::uint64_t inode() const { return inode_; }

 private:
  Netns(int fd, std::uint64_t inode) : fd_(fd), inode_(inode) {}
  int fd_ = -1;
  std::uint64_t inode_ = 0;
};

/// Enters NS on the calling thread (setns). Only for threads that belong to the caller, e.g. the
/// body of in_netns(); returns "enter netns: <errno>" on failure.
Result<void> enter_netns(const Netns& ns);

/// Runs `f()` (which must return a Result<T>) on a new thread that has entered NS, waits for it
/// and returns its result. The calling thread's namespace is never changed. If the thread cannot
/// enter NS, returns that error without calling f.
template <typename F>
auto in_netns(const Netns& ns, F&& f) -> std::invoke_result_t<F&> {
  using R = std::invoke_result_t<F&>;
  std::optional<R> out;
  std::thread t([&] {
    if (auto r = enter_netns(ns); !r) {
      out.emplace(r.error());
      return;
    }
    out.emplace(f());
  });
  t.join();
  return std::move(*out);
}

}  // namespace weft::datapath::host
