/* The kernel fast path's maps, shared by the eBPF programs (bpf/fastdp.bpf.c) and weaver's loader
 * (kernel_fastdp.cpp). Plain C, fixed-size fields only: both sides must agree on every byte.
 *
 *   macs    hash  key fdp_mac_key (6-byte MAC, 2 pad)  -> fdp_mac_val   (which peer a MAC is behind)
 *   hops    array key u32 ShortID (0..4095)            -> fdp_hop       (how to reach that peer)
 *   floods  array key u32 ShortID of the source peer   -> fdp_flood     (broadcast next hops)
 *   config  array key 0                                 -> fdp_config
 *   stats   percpu array key FDP_STAT_*                 -> u64
 *   traffic percpu array key ShortID                    -> fdp_traffic  (per peer, frames and bytes)
 *   punts   perf event array: frames for weaver, each as fdp_punt followed by the frame bytes
 */
#ifndef WEFT_DATAPATH_FASTDP_MAPS_H
#define WEFT_DATAPATH_FASTDP_MAPS_H

#ifdef __cplusplus
#include <cstdint>
#define FDP_U8 std::uint8_t
#define FDP_U16 std::uint16_t
#define FDP_U32 std::uint32_t
#define FDP_U64 std::uint64_t
#else
#define FDP_U8 __u8
#define FDP_U16 __u16
#define FDP_U32 __u32
#define FDP_U64 __u64
#endif

#define FDP_MAX_PEERS 4096
#define FDP_MAX_FLOOD 16
#define FDP_MAX_MACS 65536

struct fdp_mac_key {
  FDP_U8 mac[6];
  FDP_U16 pad;
};

#define FDP_MAC_LOCAL 1u /* behind our own bridge */
/* How often a MAC's frames still go through the bridge when they could skip it (a remote MAC's
 * frames delivered straight into a container, a container's frames sent straight from its port):
 * often enough that the bridge keeps the MAC learned on its port (ageing 300 s) and never floods
 * the frames addressed to it. */
#define FDP_BRIDGE_REFRESH_NS 2000000000ull
struct fdp_mac_val {
  FDP_U16 peer; /* ShortID of the peer the MAC is behind */
  FDP_U16 flags;
  FDP_U32 port;    /* local MACs: ifindex of the container's bridge port (a veth whose peer is in
                      another namespace), for delivery straight into it; 0 = through the bridge */
  FDP_U64 bridged; /* when one of its frames last went through the bridge (bpf_ktime_get_ns),
                      where it could have skipped it; written by the kernel, 0 from weaver */
};

#define FDP_HOP_KNOWN 1u /* a peer with this ShortID exists (and only one) */
#define FDP_HOP_VXLAN 2u /* its next hop is a healthy fastdp neighbour: send it VXLAN */
struct fdp_hop {
  FDP_U32 ip; /* next hop's IPv4, network byte order */
  FDP_U32 flags;
};

#define FDP_FLOOD_KERNEL 1u /* every next hop below is fastdp: the kernel may flood */
struct fdp_flood_hop {
  FDP_U32 ip;  /* network byte order */
  FDP_U32 dst; /* ShortID of that neighbour (the copy's destination peer) */
};
struct fdp_flood {
  FDP_U32 n;
  FDP_U32 flags;
  struct fdp_flood_hop hops[FDP_MAX_FLOOD];
};

struct fdp_config {
  FDP_U32 self;           /* our ShortID */
  FDP_U32 bridge_ifindex; /* vethwe-bridge: frames for local containers go in here */
  FDP_U32 vxlan_ifindex;  /* the external VXLAN device */
  FDP_U32 max_frame;      /* MTU + 14: bigger non-GSO frames go to weaver (ICMP, fragmenting) */
  FDP_U32 enabled;
  FDP_U32 pad;
};

enum {
  FDP_STAT_TX_UNICAST = 0, /* local frames sent as VXLAN */
  FDP_STAT_TX_FLOOD,       /* copies of local broadcasts */
  FDP_STAT_RX_LOCAL,       /* VXLAN frames delivered to the bridge */
  FDP_STAT_RX_RELAY,       /* VXLAN frames re-encapsulated toward their destination */
  FDP_STAT_RX_FLOOD,       /* copies of received broadcasts relayed */
  FDP_STAT_PUNT_EGRESS,    /* local frames left to weaver */
  FDP_STAT_PUNT_INGRESS,   /* VXLAN frames handed to weaver */
  FDP_STAT_PUNT_DROPPED,   /* VXLAN frames weaver could not be given (too big, buffer full) */
  FDP_STAT_ERRORS,         /* redirects or tunnel keys the kernel refused */
  FDP_STAT_RX_DIRECT,      /* of RX_LOCAL, unicast put straight into the container's namespace */
  FDP_STAT_TX_DIRECT,      /* of TX_UNICAST, sent straight from the container's port (fdp_port) */
  FDP_STAT_COUNT
};

struct fdp_traffic {
  FDP_U64 tx_frames, tx_bytes, rx_frames, rx_bytes;
};

struct fdp_punt {
  FDP_U32 vni;       /* VXLAN VNI: src ShortID | dst ShortID << 12 */
  FDP_U32 remote_ip; /* outer source IPv4, network byte order */
  FDP_U32 len;       /* frame bytes that follow */
  FDP_U16 gso_size;  /* non-zero: segments merged by GRO, each this long */
  FDP_U16 pad;
};

#endif
