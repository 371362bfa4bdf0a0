#pragma once
// The weave-npc shell: three informers (namespaces, pods, networkpolicies; kube spec §6.3) feed one
// queue; one loop drains it into the Cluster view and asks the Enforcer to bring the kernel there.
// Draining the whole queue before each sync coalesces bursts: 500 pod events that arrive together
// cost one ipset batch, not 500. A second thread reads NFLOG group 86 and logs what was dropped.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "weft/base/logger.hpp"
#include "weft/kube/config.hpp"
#include "weft/kube/informer.hpp"
#include "weft/npc/enforcer.hpp"
#include "weft/npc/model.hpp"
#include "weft/npc/nflog_socket.hpp"

namespace weft::npc {

struct ControllerOptions {
  PlanOptions plan;
  std::string node_name;  ///< only for logs, as in Weave: rules cover every pod of the cluster
};

/// Counters behind /metrics (Weave's names).
struct NpcMetrics {
  std::mutex mu;
  std::map<std::pair<std::string, std::uint16_t>, std::uint64_t> blocked;  ///< (protocol, dport)
  std::atomic<std::uint64_t> enforcement_errors{0};
  std::string render();
};

class Controller {
 public:
  Controller(kube::Config config, Netfilter& nf, ControllerOptions options, Logger log, NpcMetrics& metrics);
  ~Controller();

  /// Starts from a clean slate, then follows the API server until stop(). Returns the process exit
  /// status: 0 after stop() (everything removed), 1 when the start-up or an informer failed.
  int run(std::unique_ptr<NflogSocket> nflog);
  /// Thread-safe (called from the signal thread).
  void stop();

 private:
  enum class Kind { ns, pod, policy };
  enum class Op { upsert, remove };
  struct Event {
    Kind kind;
    Op op;
    kube::Json obj;
  };

  kube::InformerHandlers handlers(Kind kind);
  void push(Kind kind, Op op, const kube::Json& obj);
  void apply(const Event& e);
  void log_blocked(std::unique_ptr<NflogSocket> nflog);
  std::string pod_name_for(const Ipv4& ip);

  kube::Config config_;
  ControllerOptions options_;
  Logger log_;
  NpcMetrics& metrics_;
  Enforcer enforcer_;
  Cluster cluster_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> queue_;
  unsigned synced_ = 0;  ///< bit per informer kind
  bool stopping_ = false;
  std::string fatal_;

  std::mutex pods_mu_;
  std::map<Ipv4, std::string> pod_by_ip_;  ///< for the blocked-packet log

  std::vector<std::unique_ptr<kube::Informer>> informers_;
  std::vector<std::thread> threads_;
  std::atomic<bool> log_stop_{false};
};

}  // namespace weft::npc
