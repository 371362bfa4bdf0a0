// weft_hostile: what an unfriendly host on the same network sends a weaver (issue 18). Used by
// the e2e hardening and soak tests, never by weaver itself. Plain POSIX sockets, one thread.
//
//   weft_hostile gossip   HOST PORT N SECONDS   complete a handshake (no password) as a fake peer
//                                               and announce N fake peers, each "connected" to an
//                                               address of its own; hold the connection
//   weft_hostile idle     HOST PORT RATE SECONDS open RATE idle TCP connections per second; print
//                                               how many the router closed at once
//   weft_hostile features HOST PORT COUNT       COUNT connections announcing a 10 MiB features
//                                               message and sending 1 MiB of it; print how many
//                                               the router closed before the megabyte was sent
//   weft_hostile udp      HOST PORT COUNT       COUNT datagrams of garbage and near-valid sleeve
//   weft_hostile http     HOST PORT COUNT       COUNT abusive HTTP requests (huge templates,
//                                               cross-origin POSTs, NUL ids)
//   weft_hostile dns      HOST PORT COUNT       COUNT UDP queries for names upstream, and 128
//                                               idle TCP connections held for 5 s
// Exit status 0 unless the arguments are wrong or (gossip) the handshake fails.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "weft/base/random.hpp"
#include "weft/mesh/gossip_codec.hpp"
#include "weft/mesh/handshake.hpp"
#include "weft/mesh/topology_codec.hpp"

using namespace weft;
using Steady = std::chrono::steady_clock;

namespace {

sockaddr_in addr_of(const std::string& host, int port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, host.c_str(), &sa.sin_addr);
  return sa;
}

int dial(const std::string& host, int port, bool nonblock = false) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) return -1;
  auto sa = addr_of(host, port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const void* p, std::size_t n) {
  auto* b = static_cast<const char*>(p);
  while (n > 0) {
    auto w = ::send(fd, b, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    b += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

/// True if the peer has closed (EOF or reset) `fd` (non-blocking check).
bool peer_closed(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  char buf[4096];
  auto n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

int gossip(const std::string& host, int port, int n, int seconds) {
  SodiumRandom rng;
  mesh::LocalFeatures lf;
  lf.name = PeerName(0x0e0000000000ull | (rng.next_u64() & 0xffffffffull));
  lf.nickname = "rogue";
  lf.uid = rng.next_u64() | 1;
  lf.conn_id = rng.next_u64();
  mesh::HandshakeParams hp;
  hp.side = mesh::Side::outbound;
  hp.features = mesh::make_features(lf);
  auto hs = mesh::Handshake::create(std::move(hp), rng);
  int fd = dial(host, port);
  if (fd < 0) {
    std::fprintf(stderr, "gossip: cannot connect to %s:%d\n", host.c_str(), port);
    return 1;
  }
  auto start = hs.start();
  send_all(fd, start.data(), start.size());
  std::uint8_t buf[65536];
  while (!hs.done()) {
    auto r = ::recv(fd, buf, sizeof buf, 0);
    if (r <= 0) {
      std::fprintf(stderr, "gossip: connection closed during the handshake\n");
      return 1;
    }
    auto out = hs.feed(ByteSpan(buf, static_cast<std::size_t>(r)));
    if (!out) {
      std::fprintf(stderr, "gossip: handshake failed: %s\n", out.error().message.c_str());
      return 1;
    }
    send_all(fd, out->data(), out->size());
  }
  auto result = hs.take_result();
  auto remote = mesh::parse_remote_features(result.features);
  if (!remote) return 1;
  auto writer = mesh::MessageWriter::from_handshake(result);
  // Us: connected to the target and to every fake peer; each fake peer: connected back to us
  // (so they are reachable through us) and "to" an address of its own choosing.
  std::vector<mesh::PeerSummary> peers;
  mesh::PeerSummary me{lf.name, lf.nickname, lf.uid, 1, 1, true, {}};
  me.connections.push_back({remote->name, host + ":" + std::to_string(port), true, true});
  for (int i = 0; i < n; ++i) {
    PeerName fake(0x0f0000000000ull | (static_cast<std::uint64_t>(i) + 1));
    me.connections.push_back({fake, "10.254.0.1:" + std::to_string(1000 + i % 60000), true, true});
    // No short IDs: colliding with a real peer's short ID is a different attack (see the report
    // of issue 18); this one is about dial targets.
    mesh::PeerSummary f{fake, "fake" + std::to_string(i), static_cast<std::uint64_t>(i) + 7, 1, 0, false, {}};
    f.connections.push_back({lf.name, "10.254.0.1:6783", false, true});
    // Half point at unroutable addresses (fail at once), half at silent ones on the test's own
    // underlay (a connect that hangs until it times out holds a descriptor).
    std::string target = i % 2 ? fmt::format("10.255.{}.{}:6783", (i / 250) % 250, i % 250 + 1)
                               : fmt::format("{}.{}:{}", host.substr(0, host.rfind('.')), 200 + i % 50, 1024 + i);
    f.connections.push_back({PeerName(0x0d0000000000ull | (static_cast<std::uint64_t>(i) + 1)), target, true, true});
    peers.push_back(std::move(f));
  }
  peers.insert(peers.begin(), me);
  mesh::GossipEnvelope e{"topology", lf.name, {}, mesh::encode_peer_updates(peers)};
  auto msg = writer.encode(mesh::ProtocolTag::gossip, mesh::encode_gossip_envelope(e, false));
  if (!msg) {
    std::fprintf(stderr, "gossip: %s\n", msg.error().message.c_str());
    return 1;
  }
  send_all(fd, msg->data(), msg->size());
  std::fprintf(stderr, "gossip: announced %d fake peers (%zu bytes) to %s\n", n, msg->size(), remote->name.str().c_str());
  auto until = Steady::now() + std::chrono::seconds(seconds);
  auto next_hb = Steady::now();
  while (Steady::now() < until) {
    if (Steady::now() >= next_hb) {
      auto hb = writer.encode(mesh::ProtocolTag::heartbeat, {});
      if (!hb || !send_all(fd, hb->data(), hb->size())) break;
      next_hb = Steady::now() + std::chrono::seconds(5);
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) > 0) {
      auto r = ::recv(fd, buf, sizeof buf, 0);
      if (r <= 0) {
        std::fprintf(stderr, "gossip: the router closed the connection\n");
        break;
      }
    }
  }
  ::close(fd);
  return 0;
}

int idle(const std::string& host, int port, int rate, int seconds) {
  std::vector<std::pair<int, Steady::time_point>> open;
  int opened = 0, refused = 0;
  auto until = Steady::now() + std::chrono::seconds(seconds);
  while (Steady::now() < until) {
    auto tick = Steady::now();
    for (int i = 0; i < rate / 10 + (rate % 10 > 0); ++i) {
      int fd = dial(host, port);
      if (fd < 0) {
        ++refused;
        continue;
      }
      ++opened;
      open.emplace_back(fd, Steady::now());
    }
    // Count connections the router closed within a second of accepting them.
    for (auto it = open.begin(); it != open.end();) {
      bool closed = peer_closed(it->first);
      if (closed || Steady::now() - it->second > std::chrono::seconds(30)) {
        if (closed && Steady::now() - it->second < std::chrono::seconds(2)) ++refused;
        ::close(it->first);
        it = open.erase(it);
      } else {
        ++it;
      }
    }
    std::this_thread::sleep_until(tick + std::chrono::milliseconds(100));
  }
  for (auto& [fd, t] : open) ::close(fd);
  std::printf("opened %d refused %d\n", opened, refused);
  return 0;
}

int features(const std::string& host, int port, int count) {
  int cut = 0;
  std::vector<int> fds;
  std::vector<std::uint8_t> junk(65536, 'x');
  for (int i = 0; i < count; ++i) {
    int fd = dial(host, port);
    if (fd < 0) {
      ++cut;
      continue;
    }
    const std::uint8_t intro[] = {'w', 'e', 'a', 'v', 'e', 1, 2, 0, 0x00, 0xa0, 0x00, 0x00};  // plain, 10 MiB
    bool ok = send_all(fd, intro, sizeof intro);
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    for (int k = 0; ok && k < 16; ++k) ok = send_all(fd, junk.data(), junk.size());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (!ok || peer_closed(fd)) ++cut;
    fds.push_back(fd);
  }
  for (int fd : fds) ::close(fd);
  std::printf("connections %d cut %d\n", count, cut);
  return 0;
}

int udp(const std::string& host, int port, int count) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  auto sa = addr_of(host, port);
  SeededRandom rng(42);
  std::vector<std::uint8_t> d(1500);
  for (int i = 0; i < count; ++i) {
    auto len = 1 + rng.uniform(d.size() - 1);
    for (auto& b : d) b = static_cast<std::uint8_t>(rng.next_u64());
    if (i % 3 == 0 && len > 20) {  // an extended-overlay marker, then garbage
      std::memset(d.data() + 6, 0xff, 6);
      d[12] = 0x57;
      d[13] = 0x58;
    }
    ::sendto(fd, d.data(), len, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  }
  ::close(fd);
  return 0;
}

int http(const std::string& host, int port, int count) {
  std::string big = "/report?format={{." + std::string(60000, 'A') + "}}";
  const std::string reqs[] = {
      "GET " + big + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
      "POST /connect HTTP/1.1\r\nHost: evil.example\r\nOrigin: http://evil.example\r\nContent-Type: "
      "application/x-www-form-urlencoded\r\nContent-Length: 19\r\nConnection: close\r\n\r\npeer=10.254.254.254",
      "PUT /name/c%001/10.32.0.9?fqdn=x.weave.local HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
      "GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nX: " + std::string(100000, 'y') + "\r\n\r\n",
      "GET /status/connections HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
  };
  int answered = 0;
  for (int i = 0; i < count; ++i) {
    int fd = dial(host, port);
    if (fd < 0) continue;
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    auto& r = reqs[static_cast<std::size_t>(i) % std::size(reqs)];
    send_all(fd, r.data(), r.size());
    char buf[512];
    if (::recv(fd, buf, sizeof buf, 0) > 0) ++answered;
    ::close(fd);
  }
  std::printf("requests %d answered %d\n", count, answered);
  return 0;
}

int dns(const std::string& host, int port, int count) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  auto sa = addr_of(host, port);
  std::vector<int> idle;
  for (int i = 0; i < 128; ++i) {
    int t = dial(host, port, true);
    if (t >= 0) idle.push_back(t);
  }
  for (int i = 0; i < count; ++i) {
    // A query for "q<i>.example.com" A IN, recursion desired.
    std::vector<std::uint8_t> q = {static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i), 1, 0, 0, 1, 0, 0, 0, 0, 0, 0};
    auto label = "q" + std::to_string(i);
    q.push_back(static_cast<std::uint8_t>(label.size()));
    q.insert(q.end(), label.begin(), label.end());
    for (const char* l : {"example", "com"}) {
      q.push_back(static_cast<std::uint8_t>(std::strlen(l)));
      q.insert(q.end(), l, l + std::strlen(l));
    }
    q.insert(q.end(), {0, 0, 1, 0, 1});
    ::sendto(fd, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  }
  std::this_thread::sleep_for(std::chrono::seconds(5));
  for (int t : idle) ::close(t);
  ::close(fd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: weft_hostile gossip|idle|features|udp|http HOST PORT ARGS...\n");
    return 2;
  }
  std::string mode = argv[1], host = argv[2];
  int port = std::atoi(argv[3]);
  auto arg = [&](int i, int dflt) { return argc > i ? std::atoi(argv[i]) : dflt; };
  if (mode == "gossip") return gossip(host, port, arg(4, 3000), arg(5, 60));
  if (mode == "idle") return idle(host, port, arg(4, 40), arg(5, 10));
  if (mode == "features") return features(host, port, arg(4, 30));
  if (mode == "udp") return udp(host, port, arg(4, 10000));
  if (mode == "http") return http(host, port, arg(4, 50));
  if (mode == "dns") return dns(host, port, arg(4, 1000));
  std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
  return 2;
}
