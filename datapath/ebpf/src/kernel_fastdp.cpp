#include "weft/datapath/kernel_fastdp.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <set>
#include <vector>

#include "weft/datapath/linux/rtnl.hpp"

namespace weft::datapath {

extern const std::uint8_t kFastdpBpfObject[];
extern const std::size_t kFastdpBpfObjectSize;

namespace {

std::string errstr(int e) { return std::strerror(e < 0 ? -e : e); }

/// libbpf's messages (the verifier's log on a refusal) go to stderr at warning level only.
int libbpf_print(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level != LIBBPF_WARN) return 0;
  return std::vfprintf(stderr, fmt, args);
}

/// Removes the clsact qdisc of `ifindex` (and every filter on it); ENOENT/EINVAL = there was none.
void destroy_clsact(int ifindex) {
  if (ifindex <= 0) return;
  bpf_tc_hook hook{};
  hook.sz = sizeof hook;
  hook.ifindex = ifindex;
  hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
  // "Cannot find specified qdisc" is the normal answer when there is none: not worth a line.
  auto old = libbpf_set_print(nullptr);
  (void)bpf_tc_hook_destroy(&hook);
  libbpf_set_print(old);
}

Result<void> attach_tc(int ifindex, bpf_tc_attach_point where, int prog_fd, const std::string& ifname) {
  bpf_tc_hook hook{};
  hook.sz = sizeof hook;
  hook.ifindex = ifindex;
  hook.attach_point = where;
  if (int e = bpf_tc_hook_create(&hook); e != 0 && e != -EEXIST) {
    return make_error("adding the clsact qdisc to {}: {}", ifname, errstr(e));
  }
  bpf_tc_opts opts{};
  opts.sz = sizeof opts;
  opts.prog_fd = prog_fd;
  opts.handle = 1;
  opts.priority = 1;
  if (int e = bpf_tc_attach(&hook, &opts); e != 0) {
    return make_error("attaching the fast path's {} program to {}: {}",
                      where == BPF_TC_INGRESS ? "ingress" : "egress", ifname, errstr(e));
  }
  return {};
}

/// The bridge the router's port is on (0: none) and that bridge's other ports, the containers',
/// from one dump of the links.
struct BridgePorts {
  int bridge = 0;
  std::vector<host::LinkInfo> others;
};
Result<BridgePorts> bridge_ports(host::Rtnl& rt, int port_ifindex) {
  WEFT_TRY(links, rt.links());
  BridgePorts b;
  for (const auto& l : links) {
    if (l.ifindex == port_ifindex) b.bridge = l.master;
  }
  if (b.bridge <= 0) return b;
  for (auto& l : links) {
    if (l.master == b.bridge && l.ifindex != port_ifindex) b.others.push_back(std::move(l));
  }
  return b;
}

/// Removes the clsact qdiscs of the router's port and of the containers' ports (where fdp_port
/// sits): what a weaver that was killed left behind, still running with its old maps.
Result<void> clear_ports(host::Rtnl& rt, int port_ifindex) {
  destroy_clsact(port_ifindex);
  WEFT_TRY(b, bridge_ports(rt, port_ifindex));
  for (const auto& l : b.others) destroy_clsact(l.ifindex);
  return {};
}

class LibbpfFastdp final : public KernelFastdp {
 public:
  LibbpfFastdp(bpf_object* obj, Logger log) : obj_(obj), log_(std::move(log)) {
    cpus_ = libbpf_num_possible_cpus();
    if (cpus_ < 1) cpus_ = 1;
  }
  ~LibbpfFastdp() override {
    detach();
    bpf_object__close(obj_);
  }

  Result<void> init() {
    egress_ = bpf_object__find_program_by_name(obj_, "fdp_egress");
    ingress_ = bpf_object__find_program_by_name(obj_, "fdp_ingress");
    port_ = bpf_object__find_program_by_name(obj_, "fdp_port");
    for (auto [m, name] : {std::pair{&macs_, "macs"}, {&hops_, "hops"}, {&floods_, "floods"}, {&config_, "config"},
                           {&stats_, "stats"}, {&traffic_, "traffic"}, {&punts_, "punts"}}) {
      auto* map = bpf_object__find_map_by_name(obj_, name);
      if (map == nullptr) return make_error("the fast path's object has no map {}", name);
      *m = bpf_map__fd(map);
    }
    if (egress_ == nullptr || ingress_ == nullptr || port_ == nullptr)
      return make_error("the fast path's object lacks its programs");
    return {};
  }

  Result<void> attach(const KernelFastdpAttach& a) override {
    detach();
    a_ = a;
    WEFT_TRY(rt, host::Rtnl::open());
    // A set left by a weaver that was killed: replace it.
    WEFT_TRY(old, rt.find_link(a.vxlan_name));
    if (old) WEFT_TRY_VOID(rt.delete_link(a.vxlan_name));
    WEFT_TRY_VOID(rt.create_vxlan_external(a.vxlan_name, a.vxlan_port, 65000));
    vxlan_created_ = true;
    WEFT_TRY_VOID(rt.set_up(a.vxlan_name));
    WEFT_TRY(vx, rt.link(a.vxlan_name));
    WEFT_TRY(port, rt.link(a.bridge_port));
    vxlan_ifindex_ = vx.ifindex;
    port_ifindex_ = port.ifindex;
    WEFT_TRY_VOID(write_config(true));
    WEFT_TRY_VOID(clear_ports(rt, port.ifindex));
    WEFT_TRY_VOID(attach_tc(vxlan_ifindex_, BPF_TC_INGRESS, bpf_program__fd(ingress_), a.vxlan_name));
    WEFT_TRY_VOID(attach_tc(port_ifindex_, BPF_TC_EGRESS, bpf_program__fd(egress_), a.bridge_port));
    if (pb_ == nullptr) {
      pb_ = perf_buffer__new(punts_, 64, &LibbpfFastdp::on_sample, &LibbpfFastdp::on_lost, this, nullptr);
      if (pb_ == nullptr) return make_error("opening the fast path's perf buffer: {}", errstr(errno));
    }
    return {};
  }

  void detach() override {
    if (port_ifindex_ > 0 || vxlan_created_) (void)write_config(false);
    (void)set_direct_ports({});
    destroy_clsact(port_ifindex_);
    port_ifindex_ = 0;
    if (vxlan_created_) {
      if (auto rt = host::Rtnl::open()) {
        if (auto r = rt->delete_link(a_.vxlan_name); !r) log_.warn("removing {}: {}", a_.vxlan_name, r.error().message);
      }
      vxlan_created_ = false;
    }
    vxlan_ifindex_ = 0;
    if (pb_ != nullptr) {
      perf_buffer__free(pb_);
      pb_ = nullptr;
    }
  }

  void set_self_short_id(std::uint32_t id) override {
    a_.self_short_id = id;
    if (port_ifindex_ > 0) (void)write_config(true);
  }

  Result<void> set_mac(const Mac& mac, const fdp_mac_val& v) override {
    auto k = key(mac);
    if (bpf_map_update_elem(macs_, &k, &v, BPF_ANY) != 0) return make_error("fast path MAC map: {}", errstr(errno));
    return {};
  }
  void del_mac(const Mac& mac) override {
    auto k = key(mac);
    (void)bpf_map_delete_elem(macs_, &k);
  }
  Result<void> set_hop(std::uint32_t id, const fdp_hop& h) override {
    if (bpf_map_update_elem(hops_, &id, &h, BPF_ANY) != 0) return make_error("fast path hop map: {}", errstr(errno));
    return {};
  }
  Result<void> set_flood(std::uint32_t id, const fdp_flood& f) override {
    if (bpf_map_update_elem(floods_, &id, &f, BPF_ANY) != 0) return make_error("fast path flood map: {}", errstr(errno));
    return {};
  }

  Result<std::map<Mac, std::uint32_t>> direct_ports() override {
    std::map<Mac, std::uint32_t> out;
    if (port_ifindex_ <= 0) return out;
    WEFT_TRY(rt, host::Rtnl::open());
    WEFT_TRY(b, bridge_ports(rt, port_ifindex_));
    if (b.bridge <= 0) return make_error("{} is not on a bridge", a_.bridge_port);
    std::set<int> ok;
    for (const auto& l : b.others) {
      if (l.kind == host::LinkKind::veth && l.peer_netnsid && l.up) ok.insert(l.ifindex);
    }
    WEFT_TRY(fdb, rt.bridge_fdb(b.bridge));
    for (const auto& e : fdb) {
      if (!e.permanent && ok.contains(e.ifindex)) out[e.mac] = static_cast<std::uint32_t>(e.ifindex);
    }
    return out;
  }

  std::size_t set_direct_ports(const std::set<std::uint32_t>& ports) override {
    for (auto it = sending_.begin(); it != sending_.end();) {
      if (ports.contains(*it)) {
        ++it;
        continue;
      }
      destroy_clsact(static_cast<int>(*it));
      it = sending_.erase(it);
    }
    if (port_ifindex_ <= 0) return sending_.size();
    for (auto p : ports) {
      if (sending_.contains(p)) continue;
      char name[IF_NAMESIZE] = {};
      if (::if_indextoname(p, name) == nullptr) continue;  // gone since it was read
      if (auto r = attach_tc(static_cast<int>(p), BPF_TC_INGRESS, bpf_program__fd(port_), name); !r) {
        log_.debug("{}", r.error().message);
        destroy_clsact(static_cast<int>(p));
        continue;
      }
      sending_.insert(p);
    }
    return sending_.size();
  }

  int punt_fd() const override { return pb_ != nullptr ? perf_buffer__epoll_fd(pb_) : -1; }
  void consume(const std::function<void(const KernelPunt&)>& f) override {
    if (pb_ == nullptr) return;
    sink_ = &f;
    (void)perf_buffer__consume(pb_);
    sink_ = nullptr;
  }

  KernelFastdpStats stats() const override {
    KernelFastdpStats s;
    std::vector<std::uint64_t> v(static_cast<std::size_t>(cpus_));
    for (std::uint32_t i = 0; i < FDP_STAT_COUNT; ++i) {
      if (bpf_map_lookup_elem(stats_, &i, v.data()) != 0) continue;
      for (auto x : v) s.counters[i] += x;
    }
    s.lost = lost_;
    return s;
  }
  fdp_traffic traffic(std::uint32_t id) const override {
    fdp_traffic t{};
    std::vector<fdp_traffic> v(static_cast<std::size_t>(cpus_));
    if (bpf_map_lookup_elem(traffic_, &id, v.data()) != 0) return t;
    for (auto& x : v) {
      t.tx_frames += x.tx_frames;
      t.tx_bytes += x.tx_bytes;
      t.rx_frames += x.rx_frames;
      t.rx_bytes += x.rx_bytes;
    }
    return t;
  }

 private:
  static fdp_mac_key key(const Mac& m) {
    fdp_mac_key k{};
    auto b = m.bytes();
    std::memcpy(k.mac, b.data(), 6);
    return k;
  }
  Result<void> write_config(bool enabled) {
    std::uint32_t zero = 0;
    fdp_config c{};
    c.self = a_.self_short_id;
    c.bridge_ifindex = static_cast<std::uint32_t>(port_ifindex_);
    c.vxlan_ifindex = static_cast<std::uint32_t>(vxlan_ifindex_);
    c.max_frame = a_.max_frame;
    c.enabled = enabled ? 1 : 0;
    if (bpf_map_update_elem(config_, &zero, &c, BPF_ANY) != 0) return make_error("fast path config: {}", errstr(errno));
    return {};
  }
  static void on_sample(void* ctx, int, void* data, std::uint32_t size) {
    auto* self = static_cast<LibbpfFastdp*>(ctx);
    if (self->sink_ == nullptr || size < sizeof(fdp_punt)) return;
    fdp_punt p;
    std::memcpy(&p, data, sizeof p);
    if (p.len > size - sizeof p) return;
    KernelPunt k;
    k.vni = p.vni;
    k.remote = Ipv4(ntohl(p.remote_ip));
    k.gso_size = p.gso_size;
    k.frame = std::span<const std::uint8_t>(static_cast<const std::uint8_t*>(data) + sizeof p, p.len);
    (*self->sink_)(k);
  }
  static void on_lost(void* ctx, int, unsigned long long n) { static_cast<LibbpfFastdp*>(ctx)->lost_ += n; }

  bpf_object* obj_;
  Logger log_;
  int cpus_ = 1;
  bpf_program* egress_ = nullptr;
  bpf_program* ingress_ = nullptr;
  bpf_program* port_ = nullptr;
  std::set<std::uint32_t> sending_;  ///< container ports that carry fdp_port
  int macs_ = -1, hops_ = -1, floods_ = -1, config_ = -1, stats_ = -1, traffic_ = -1, punts_ = -1;
  KernelFastdpAttach a_;
  int vxlan_ifindex_ = 0;
  int port_ifindex_ = 0;
  bool vxlan_created_ = false;
  perf_buffer* pb_ = nullptr;
  const std::function<void(const KernelPunt&)>* sink_ = nullptr;
  std::uint64_t lost_ = 0;
};

}  // namespace

Result<std::unique_ptr<KernelFastdp>> KernelFastdp::load(bool refuse, Logger log) {
  if (refuse) return make_error("the kernel refused the fast path's programs (forced by --fastdp-refuse)");
  libbpf_set_print(libbpf_print);
  bpf_object_open_opts o{};
  o.sz = sizeof o;
  o.object_name = "weft_fastdp";
  bpf_object* obj = bpf_object__open_mem(kFastdpBpfObject, kFastdpBpfObjectSize, &o);
  if (obj == nullptr) return make_error("opening the fast path's eBPF object: {}", errstr(errno));
  if (int e = bpf_object__load(obj); e != 0) {
    bpf_object__close(obj);
    return make_error("the kernel refused the fast path's eBPF programs: {}", errstr(e));
  }
  auto fp = std::make_unique<LibbpfFastdp>(obj, std::move(log));
  WEFT_TRY_VOID(fp->init());
  return std::unique_ptr<KernelFastdp>(std::move(fp));
}

Result<void> KernelFastdp::cleanup(const std::string& bridge_port, const std::string& vxlan_name) {
  WEFT_TRY(rt, host::Rtnl::open());
  WEFT_TRY(vx, rt.find_link(vxlan_name));
  if (vx) WEFT_TRY_VOID(rt.delete_link(vxlan_name));
  WEFT_TRY(port, rt.find_link(bridge_port));
  if (port) WEFT_TRY_VOID(clear_ports(rt, port->ifindex));
  return {};
}

}  // namespace weft::datapath
