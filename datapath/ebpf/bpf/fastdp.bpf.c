// SPDX-License-Identifier: GPL-2.0
/* weft's kernel fast path: Weave's fastdp (VXLAN, VNI = src ShortID | dst ShortID << 12) done by
 * two TC programs over maps weaver fills (see fastdp_maps.h).
 *
 *  fdp_egress   TC egress of vethwe-bridge: frames the bridge sends toward the router. Known
 *               unicast to a peer reached over fastdp leaves as VXLAN through the external VXLAN
 *               device; a broadcast whose next hops are all fastdp leaves as one copy per next hop.
 *  fdp_port     TC ingress of the containers' bridge ports weaver named (the same ports direct
 *               delivery goes into): known unicast to a fastdp peer leaves as VXLAN right there,
 *               skipping the bridge; everything else continues into the bridge as if it were not
 *               there (and so reaches fdp_egress or a local container).
 *  fdp_ingress  TC ingress of the VXLAN device: frames for us go into the bridge (broadcasts also
 *               relayed along the source's broadcast routes), or, for unicast to a container
 *               whose port weaver named, straight into the container's namespace; frames for
 *               another peer are re-encapsulated toward it.
 *
 * Whatever they cannot decide (unknown or moved MACs, heartbeats, sleeve next hops, oversized
 * frames) goes to weaver: egress frames continue to vethwe-pcap (weaver's capture), ingress frames
 * go through the perf buffer `punts` with their VNI and outer source address. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "weft/datapath/fastdp_maps.h"

char LICENSE[] SEC("license") = "GPL";

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, FDP_MAX_MACS);
  __type(key, struct fdp_mac_key);
  __type(value, struct fdp_mac_val);
} macs SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, FDP_MAX_PEERS);
  __type(key, __u32);
  __type(value, struct fdp_hop);
} hops SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, FDP_MAX_PEERS);
  __type(key, __u32);
  __type(value, struct fdp_flood);
} floods SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct fdp_config);
} config SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, FDP_STAT_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} stats SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, FDP_MAX_PEERS);
  __type(key, __u32);
  __type(value, struct fdp_traffic);
} traffic SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, sizeof(__u32));
} punts SEC(".maps");

#define PUNT_MAX 65496 /* a perf sample (header, size, fdp_punt, frame) holds at most 64 KiB */

static __always_inline void count(__u32 which) {
  __u64 *v = bpf_map_lookup_elem(&stats, &which);
  if (v) *v += 1;
}

static __always_inline void count_peer(__u32 peer, struct __sk_buff *skb, int tx) {
  struct fdp_traffic *t = bpf_map_lookup_elem(&traffic, &peer);
  if (!t) return;
  __u64 frames = skb->gso_segs ? skb->gso_segs : 1;
  if (tx) {
    t->tx_frames += frames;
    t->tx_bytes += skb->len;
  } else {
    t->rx_frames += frames;
    t->rx_bytes += skb->len;
  }
}

static __always_inline struct fdp_mac_val *mac_lookup(const __u8 *mac) {
  struct fdp_mac_key k = {};
  __builtin_memcpy(k.mac, mac, 6);
  return bpf_map_lookup_elem(&macs, &k);
}

/* Sets the VXLAN tunnel key: DF, TTL 64, TOS 0, UDP checksum 0 (spec §5.1). */
static __always_inline int encap(struct __sk_buff *skb, __u32 vni, __u32 ip_be) {
  struct bpf_tunnel_key key = {};
  key.tunnel_id = vni;
  key.remote_ipv4 = bpf_ntohl(ip_be);
  key.tunnel_ttl = 64;
  key.tunnel_tos = 0;
  return bpf_skb_set_tunnel_key(skb, &key, sizeof(key), BPF_F_ZERO_CSUM_TX | BPF_F_DONT_FRAGMENT);
}

/* One copy per next hop of `fl`, each addressed to that neighbour; the copies are sent before
 * the next tunnel key is set (a clone_redirect transmits synchronously). Never a copy back to
 * `from_ip`, the neighbour it came from (0 on egress): when two routers' views disagree, each may
 * think the other is its child in the source's tree, and the frame would bounce for ever. */
static __always_inline int flood(struct __sk_buff* skb, const struct fdp_config* cfg, const struct fdp_flood* fl,
                                 __u32 src, __u32 stat, __u32 from_ip) {
  __u32 n = fl->n;
  for (int i = 0; i < FDP_MAX_FLOOD; i++) {
    if (i >= n) break;
    if (from_ip != 0 && fl->hops[i].ip == from_ip) continue;
    __u32 vni = (src & 0xfff) | ((fl->hops[i].dst & 0xfff) << 12);
    if (encap(skb, vni, fl->hops[i].ip) < 0 || bpf_clone_redirect(skb, cfg->vxlan_ifindex, 0) < 0) {
      count(FDP_STAT_ERRORS);
      continue;
    }
    count(stat);
  }
  return 0;
}

static __always_inline int is_zero_mac(const __u8 *eth) {
  __u64 a = 0, b = 0;
  __builtin_memcpy(&a, eth, 6);
  __builtin_memcpy(&b, eth + 6, 6);
  return a == 0 && b == 0;
}

/* A local frame for peer `dst` as VXLAN toward its next hop: the redirect's verdict, or -1 when
 * the next hop is not fastdp (or the kernel refused the tunnel key) and it must go another way. */
static __always_inline int send_unicast(struct __sk_buff* skb, const struct fdp_config* cfg, __u32 dst) {
  struct fdp_hop* h = bpf_map_lookup_elem(&hops, &dst);
  if (!h || !(h->flags & FDP_HOP_VXLAN)) return -1;
  if (encap(skb, (cfg->self & 0xfff) | ((dst & 0xfff) << 12), h->ip) < 0) {
    count(FDP_STAT_ERRORS);
    return -1;
  }
  count(FDP_STAT_TX_UNICAST);
  count_peer(dst, skb, 1);
  return bpf_redirect(cfg->vxlan_ifindex, 0);
}

/* Whether a frame from `v` may skip the bridge now: not when the last frame from it that went
 * through the bridge was FDP_BRIDGE_REFRESH_NS ago or more (this one goes, and is noted). */
static __always_inline int may_skip_bridge(struct fdp_mac_val* v) {
  __u64 now = bpf_ktime_get_ns();
  if (now - v->bridged < FDP_BRIDGE_REFRESH_NS) return 1;
  v->bridged = now;
  return 0;
}

SEC("tc")
int fdp_port(struct __sk_buff* skb) {
  __u32 zero = 0;
  struct fdp_config* cfg = bpf_map_lookup_elem(&config, &zero);
  if (!cfg || !cfg->enabled) return TC_ACT_OK;
  __u8 eth[12];
  if (bpf_skb_load_bytes(skb, 0, eth, sizeof(eth)) < 0) return TC_ACT_OK;
  if (eth[0] & 1) return TC_ACT_OK; /* the bridge floods it; fdp_egress sends the copies */
  if (skb->gso_size == 0 && skb->len > cfg->max_frame) return TC_ACT_OK;
  struct fdp_mac_val* sv = mac_lookup(eth + 6);
  if (!sv || !(sv->flags & FDP_MAC_LOCAL)) return TC_ACT_OK;
  struct fdp_mac_val* dv = mac_lookup(eth);
  if (!dv || (dv->flags & FDP_MAC_LOCAL) || !may_skip_bridge(sv)) return TC_ACT_OK;
  int verdict = send_unicast(skb, cfg, dv->peer);
  if (verdict < 0) return TC_ACT_OK;
  count(FDP_STAT_TX_DIRECT);
  return verdict;
}

SEC("tc")
int fdp_egress(struct __sk_buff *skb) {
  __u32 zero = 0;
  struct fdp_config *cfg = bpf_map_lookup_elem(&config, &zero);
  if (!cfg || !cfg->enabled) return TC_ACT_OK;
  __u8 eth[12];
  if (bpf_skb_load_bytes(skb, 0, eth, sizeof(eth)) < 0) return TC_ACT_OK;
  /* The source must be a MAC weaver has learned as local: new and moved MACs are weaver's. */
  struct fdp_mac_val *sv = mac_lookup(eth + 6);
  if (!sv || !(sv->flags & FDP_MAC_LOCAL)) goto punt;
  if (skb->gso_size == 0 && skb->len > cfg->max_frame) goto punt; /* weaver sends ICMP or fragments */
  if (eth[0] & 1) {
    __u32 self = cfg->self;
    struct fdp_flood *fl = bpf_map_lookup_elem(&floods, &self);
    if (!fl || !(fl->flags & FDP_FLOOD_KERNEL)) goto punt;
    if (eth[0] == 0x01 && eth[1] == 0x80 && eth[2] == 0xc2 && eth[3] == 0 && eth[4] == 0 && eth[5] == 0) goto punt;
    flood(skb, cfg, fl, self, FDP_STAT_TX_FLOOD, 0);
    return TC_ACT_SHOT;
  }
  struct fdp_mac_val *dv = mac_lookup(eth);
  if (!dv) goto punt;
  if (dv->flags & FDP_MAC_LOCAL) return TC_ACT_SHOT; /* Weave drops frames for local MACs here */
  int verdict = send_unicast(skb, cfg, dv->peer);
  if (verdict >= 0) return verdict;
punt:
  count(FDP_STAT_PUNT_EGRESS);
  return TC_ACT_OK;
}

SEC("tc")
int fdp_ingress(struct __sk_buff *skb) {
  __u32 zero = 0;
  struct fdp_config *cfg = bpf_map_lookup_elem(&config, &zero);
  if (!cfg) return TC_ACT_SHOT;
  struct bpf_tunnel_key key = {};
  if (bpf_skb_get_tunnel_key(skb, &key, sizeof(key), 0) < 0) return TC_ACT_SHOT;
  __u32 vni = key.tunnel_id & 0xffffff;
  __u32 src = vni & 0xfff, dst = vni >> 12;
  __u32 remote = bpf_htonl(key.remote_ipv4);
  __u8 eth[12];
  if (!cfg->enabled || bpf_skb_load_bytes(skb, 0, eth, sizeof(eth)) < 0) goto punt;
  if (is_zero_mac(eth)) goto punt; /* heartbeat */
  if (dst != cfg->self) {
    /* Relay toward dst, re-encapsulated with the same VNI; a hop back to the sender is weaver's. */
    struct fdp_hop *sh = bpf_map_lookup_elem(&hops, &src);
    struct fdp_hop *h = bpf_map_lookup_elem(&hops, &dst);
    if (!sh || !h || !(h->flags & FDP_HOP_VXLAN) || h->ip == remote) goto punt;
    if (encap(skb, vni, h->ip) < 0) {
      count(FDP_STAT_ERRORS);
      goto punt;
    }
    count(FDP_STAT_RX_RELAY);
    count_peer(dst, skb, 1);
    return bpf_redirect(cfg->vxlan_ifindex, 0);
  }
  struct fdp_mac_val *sv = mac_lookup(eth + 6);
  if (!sv || sv->peer != src || (sv->flags & FDP_MAC_LOCAL)) goto punt; /* weaver learns */
  if (eth[0] & 1) {
    struct fdp_flood *fl = bpf_map_lookup_elem(&floods, &src);
    if (!fl || !(fl->flags & FDP_FLOOD_KERNEL)) goto punt;
    flood(skb, cfg, fl, src, FDP_STAT_RX_FLOOD, remote);
    count(FDP_STAT_RX_LOCAL);
    count_peer(src, skb, 0);
    return bpf_redirect(cfg->bridge_ifindex, BPF_F_INGRESS);
  }
  struct fdp_mac_val *dv = mac_lookup(eth);
  if (!dv || !(dv->flags & FDP_MAC_LOCAL)) goto punt;
  count(FDP_STAT_RX_LOCAL);
  count_peer(src, skb, 0);
  /* Straight into the container's namespace (its veth peer), skipping the backlog pass of a
   * redirect into the bridge; but now and then through the bridge, so that it keeps the source
   * learned on vethwe-bridge. */
  if (dv->port != 0 && may_skip_bridge(sv)) {
    count(FDP_STAT_RX_DIRECT);
    return bpf_redirect_peer(dv->port, 0);
  }
  return bpf_redirect(cfg->bridge_ifindex, BPF_F_INGRESS);
punt:;
  __u64 len = skb->len;
  if (len > PUNT_MAX) {
    count(FDP_STAT_PUNT_DROPPED);
    return TC_ACT_SHOT;
  }
  struct fdp_punt p = {.vni = vni, .remote_ip = remote, .len = (__u32)len, .gso_size = (__u16)skb->gso_size};
  if (bpf_perf_event_output(skb, &punts, BPF_F_CURRENT_CPU | (len << 32), &p, sizeof(p)) < 0) {
    count(FDP_STAT_PUNT_DROPPED);
  } else {
    count(FDP_STAT_PUNT_INGRESS);
  }
  return TC_ACT_SHOT;
}
