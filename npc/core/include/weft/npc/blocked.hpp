#pragma once
// Dropped packets, as weave-npc's logger reported them (kube spec §4.8). The kernel hands them over
// on NFLOG group 86; these are the pure decoders of those bytes (fuzzed in tests/fuzz/fuzz_npc.cpp).
//
// NFLOG over nfnetlink, one datagram holds one or more netlink messages:
//   <[4] nlmsg_len><[2] type = NFNL_SUBSYS_ULOG<<8 | NFULNL_MSG_PACKET (0x0400)><[2] flags>
//   <[4] seq><[4] pid><[4] nfgenmsg: family, version, res_id (group, big-endian)>
//   then attributes <[2] nla_len><[2] nla_type><value, padded to 4>; NFULA_PAYLOAD (9) is the
//   packet from its IPv4 header on.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "weft/base/ipv4.hpp"

namespace weft::npc {

struct BlockedPacket {
  enum class Proto { tcp, udp };
  Proto proto = Proto::tcp;
  Ipv4 src, dst;
  std::uint16_t sport = 0, dport = 0;
};

/// The packets (IPv4 header on) carried by an NFLOG netlink datagram; malformed messages end the
/// walk, what came before them is kept.
std::vector<std::span<const std::uint8_t>> nflog_payloads(std::span<const std::uint8_t> datagram);

/// Weave counted and logged a TCP packet with SYN and no ACK, and any UDP packet; anything else (or
/// a truncated or non-IPv4 packet) gives nullopt.
std::optional<BlockedPacket> decode_blocked(std::span<const std::uint8_t> packet);

/// Weave's line, "TCP connection from 10.32.0.2:41000 to 10.32.0.3:80 blocked by Weave NPC.", then
/// what weft adds: the pods, "(from default/client to default/server)"; an address that is no
/// known pod shows as "?" (the bridge IP of masqueraded traffic, spec §7 item 11).
std::string blocked_line(const BlockedPacket& p, const std::string& src_pod, const std::string& dst_pod);

}  // namespace weft::npc
