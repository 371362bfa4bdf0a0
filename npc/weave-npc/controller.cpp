#include "controller.hpp"

#include "weft/npc/blocked.hpp"
#include "weft/npc/decode.hpp"

namespace weft::npc {

namespace {

constexpr unsigned kAllSynced = 0b111;
constexpr std::chrono::seconds kVerifyEvery{10};

const char* kind_name(int k) {
  static const char* names[] = {"namespace", "pod", "networkpolicy"};
  return names[k];
}

}  // namespace

std::string NpcMetrics::render() {
  std::string out =
      "# HELP weavenpc_blocked_connections_total Connection attempts blocked by policy controller.\n"
      "# TYPE weavenpc_blocked_connections_total counter\n";
  {
    std::lock_guard lk(mu);
    for (const auto& [k, v] : blocked) {
      out += fmt::format("weavenpc_blocked_connections_total{{dport=\"{}\",protocol=\"{}\"}} {}\n", k.second, k.first, v);
    }
  }
  out += fmt::format(
      "# HELP weavenpc_policy_enforcement_errors Count of policy enforcement errors.\n"
      "# TYPE weavenpc_policy_enforcement_errors counter\nweavenpc_policy_enforcement_errors {}\n",
      enforcement_errors.load());
  return out;
}

Controller::Controller(kube::Config config, Netfilter& nf, ControllerOptions options, Logger log, NpcMetrics& metrics)
    : config_(std::move(config)),
      options_(std::move(options)),
      log_(std::move(log)),
      metrics_(metrics),
      enforcer_(nf, options_.plan, log_.child("npc-enforcer")) {}

Controller::~Controller() {
  stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

kube::InformerHandlers Controller::handlers(Kind kind) {
  kube::InformerHandlers h;
  h.on_add = [this, kind](const kube::Json& o) { push(kind, Op::upsert, o); };
  h.on_update = [this, kind](const kube::Json&, const kube::Json& o) { push(kind, Op::upsert, o); };
  h.on_delete = [this, kind](const kube::Json& o) { push(kind, Op::remove, o); };
  h.on_synced = [this, kind] {
    std::lock_guard lk(mu_);
    synced_ |= 1u << static_cast<unsigned>(kind);
    cv_.notify_all();
  };
  return h;
}

void Controller::push(Kind kind, Op op, const kube::Json& obj) {
  std::lock_guard lk(mu_);
  queue_.push_back({kind, op, obj});
  cv_.notify_all();
}

void Controller::apply(const Event& e) {
  const auto& meta = e.obj.contains("metadata") ? e.obj["metadata"] : kube::Json::object();
  const std::string name = meta.value("name", ""), ns = meta.value("namespace", "");
  const char* what = kind_name(static_cast<int>(e.kind));
  if (e.op == Op::remove) {
    log_.debug("delete {} {}{}{}", what, ns, ns.empty() ? "" : "/", name);
    switch (e.kind) {
      case Kind::ns: cluster_.namespaces.erase(name); break;
      case Kind::pod: cluster_.pods.erase(Cluster::key(ns, name)); break;
      case Kind::policy: cluster_.policies.erase(Cluster::key(ns, name)); break;
    }
    return;
  }
  // A bad object is logged and counted; the last good version of it stays in force.
  auto fail = [&](const Error& err) {
    ++metrics_.enforcement_errors;
    log_.error("ignoring {} {}{}{}: {}", what, ns, ns.empty() ? "" : "/", name, err.message);
  };
  log_.debug("upsert {} {}{}{}", what, ns, ns.empty() ? "" : "/", name);
  switch (e.kind) {
    case Kind::ns: {
      auto r = decode_namespace(e.obj);
      if (!r) return fail(r.error());
      cluster_.namespaces[r->name] = std::move(*r);
      break;
    }
    case Kind::pod: {
      auto r = decode_pod(e.obj);
      if (!r) return fail(r.error());
      cluster_.pods[Cluster::key(r->ns, r->name)] = std::move(*r);
      break;
    }
    case Kind::policy: {
      auto r = decode_policy(e.obj);
      if (!r) return fail(r.error());
      cluster_.policies[Cluster::key(r->ns, r->name)] = std::move(*r);
      break;
    }
  }
}

std::string Controller::pod_name_for(const Ipv4& ip) {
  std::lock_guard lk(pods_mu_);
  auto it = pod_by_ip_.find(ip);
  return it == pod_by_ip_.end() ? std::string() : it->second;
}

void Controller::log_blocked(std::unique_ptr<NflogSocket> nflog) {
  while (!log_stop_) {
    auto d = nflog->receive(std::chrono::milliseconds(200));
    if (!d) {
      log_.error("NFLOG group {}: {}; blocked connections are no longer logged", kNflogGroup, d.error().message);
      return;
    }
    for (auto payload : nflog_payloads(*d)) {
      auto b = decode_blocked(payload);
      if (!b) continue;
      {
        std::lock_guard lk(metrics_.mu);
        ++metrics_.blocked[{b->proto == BlockedPacket::Proto::tcp ? "tcp" : "udp", b->dport}];
      }
      log_.warn("{}", blocked_line(*b, pod_name_for(b->src), pod_name_for(b->dst)));
    }
  }
}

void Controller::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  for (auto& i : informers_) i->stop();
  log_stop_ = true;
}

int Controller::run(std::unique_ptr<NflogSocket> nflog) {
  log_.info("starting weave-npc on node {}", options_.node_name);
  if (auto r = enforcer_.start(); !r) {
    log_.error("cannot set up iptables and ipsets: {}", r.error().message);
    return 1;
  }
  if (nflog) threads_.emplace_back([this, s = std::move(nflog)]() mutable { log_blocked(std::move(s)); });
  const std::pair<Kind, const char*> collections[] = {{Kind::ns, "/api/v1/namespaces"},
                                                      {Kind::pod, "/api/v1/pods"},
                                                      {Kind::policy, "/apis/networking.k8s.io/v1/networkpolicies"}};
  for (const auto& [kind, path] : collections) {
    informers_.push_back(std::make_unique<kube::Informer>(config_, path, handlers(kind), log_.child("npc-kube")));
  }
  for (std::size_t i = 0; i < informers_.size(); ++i) {
    threads_.emplace_back([this, i] {
      auto r = informers_[i]->run();
      if (!r) {
        std::lock_guard lk(mu_);
        fatal_ = fmt::format("{}: {}", kind_name(static_cast<int>(i)), r.error().message);
        stopping_ = true;
        cv_.notify_all();
      }
    });
  }
  bool logged_synced = false, retry = false;
  auto next_verify = std::chrono::steady_clock::now() + kVerifyEvery;
  for (;;) {
    std::deque<Event> batch;
    bool all_synced = false;
    {
      std::unique_lock lk(mu_);
      cv_.wait_for(lk, retry ? std::chrono::seconds(1) : kVerifyEvery,
                   [&] { return stopping_ || (!queue_.empty() && synced_ == kAllSynced) ||
                                (synced_ == kAllSynced && !logged_synced); });
      if (stopping_) break;
      batch.swap(queue_);
      all_synced = synced_ == kAllSynced;
    }
    for (const auto& e : batch) apply(e);
    if (!all_synced) continue;
    if (!logged_synced) {
      log_.info("synced: {} namespaces, {} pods, {} network policies", cluster_.namespaces.size(),
                cluster_.pods.size(), cluster_.policies.size());
      logged_synced = true;
    }
    if (batch.empty() && !retry) {
      // Quiet: check that nothing else flushed the tables (a firewalld reload; Weave's npc never
      // noticed, kube spec §7 item 9).
      if (std::chrono::steady_clock::now() >= next_verify) {
        next_verify = std::chrono::steady_clock::now() + kVerifyEvery;
        if (auto r = enforcer_.verify(); !r) {
          ++metrics_.enforcement_errors;
          log_.error("{}", r.error().message);
        }
      }
      continue;
    }
    auto r = enforcer_.sync(cluster_);
    retry = !r.ok();
    if (!r) {
      ++metrics_.enforcement_errors;
      log_.error("{} (retrying)", r.error().message);
    }
    std::map<Ipv4, std::string> by_ip;
    for (const auto& [_, p] : cluster_.pods) {
      if (p.ip) by_ip[*p.ip] = p.ns + "/" + p.name;
    }
    std::lock_guard lk(pods_mu_);
    pod_by_ip_ = std::move(by_ip);
  }
  stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  const auto& st = enforcer_.stats();
  log_.info("stopping: {} syncs, {} ipset and {} iptables-restore calls, {} errors", st.syncs, st.ipset_calls,
            st.iptables_calls, st.errors);
  auto r = enforcer_.stop();
  if (!r) log_.error("{}", r.error().message);
  std::string fatal;
  {
    std::lock_guard lk(mu_);
    fatal = fatal_;
  }
  if (!fatal.empty()) {
    log_.error("informer failed: {}", fatal);
    return 1;
  }
  return r ? 0 : 1;
}

}  // namespace weft::npc
