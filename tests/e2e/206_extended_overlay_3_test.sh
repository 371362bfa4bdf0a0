#!/usr/bin/env bash
# weft's extended overlay (issue 8), 3 hosts on the AF_PACKET backend: a and b are weft peers
# that negotiate it; c runs with --extended-overlay=false, so it speaks only the Weave sleeve
# format (the stand-in for a Weave 2.8 peer). Containers keep their TX offloads (the bridge's are
# on), so TCP leaves them as TSO superframes. Checks: the a-b connection reports the extension
# (and, with E2E_PASSWORD, its AEAD), a-c does not; ping, iperf3 and a checksummed 20 MB transfer
# work a->b (superframes whole: the extended-overlay counters move, and far fewer datagrams than
# frames' worth of MTUs) and a->c (superframes cut into complete frames for the sleeve), and an
# IPv6 TCP transfer a->c arrives intact.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init "${E2E_NAME_OVERRIDE:-extended_overlay_3}"
for t in iperf3 jq sha256sum nc ethtool; do command -v $t >/dev/null || e2e_skip "needs $t"; done

e2e_host a 192.168.79.1/24
e2e_host b 192.168.79.2/24
e2e_host c 192.168.79.3/24
pw=()
[[ -z ${E2E_PASSWORD:-} ]] || pw=(--password "$E2E_PASSWORD")
e2e_weave a launch --datapath-backend afpacket "${pw[@]}" >/dev/null || e2e_fail "launch a"
e2e_weave b launch --datapath-backend afpacket "${pw[@]}" "$(e2e_ip a)" >/dev/null || e2e_fail "launch b"
e2e_weave c launch --datapath-backend afpacket --extended-overlay=false "${pw[@]}" "$(e2e_ip a)" >/dev/null ||
  e2e_fail "launch c"
for h in a b c; do
  ip netns add "${E2E_PREFIX}c$h"
  E2E_NETNS+=("${E2E_PREFIX}c$h")
done
in_c() { local c=$1; shift; nsenter --net="/run/netns/${E2E_PREFIX}c$c" -- "$@"; }
n=1
for h in a b c; do
  [[ $(e2e_weave $h attach 10.2.3.$n/24 "netns:${E2E_PREFIX}c$h") == 10.2.3.$n ]] || e2e_fail "attach $h"
  n=$((n + 1))
done
# The container keeps TSO because weaver left the bridge's offloads on (afpacket + vnet headers).
feat=$(in_c a ethtool -k ethwe)
[[ $feat == *"tcp-segmentation-offload: on"* ]] || e2e_fail "TSO is off in a's container: $feat"
# ... but only the kinds weft can also cut for a Weave peer (IPv4 TCP).
[[ $feat == *"tx-tcp6-segmentation: off"* && $feat == *"tx-udp-segmentation: off"* ]] ||
  e2e_fail "TSO6/USO left on in a's container: $feat"

e2e_wait_for 20 in_c a ping -c 1 -W 1 10.2.3.2 || e2e_fail "a cannot ping b"
e2e_wait_for 20 in_c a ping -c 1 -W 1 10.2.3.3 || e2e_fail "a cannot ping c"
in_c a ping -c 5 -i 0.2 -W 2 10.2.3.2 >/dev/null || e2e_fail "ping a->b lost packets"
in_c c ping -c 5 -i 0.2 -W 2 10.2.3.1 >/dev/null || e2e_fail "ping c->a lost packets"

conns=$(e2e_weave a status connections)
e2e_log "connections of a: $conns"
want_x=plain
[[ -z ${E2E_PASSWORD:-} ]] || want_x='(aes256gcm|chacha20poly1305)'
line_b=$(grep -F "$(e2e_ip b):" <<<"$conns" || true)
line_c=$(grep -F "$(e2e_ip c):" <<<"$conns" || true)
[[ $line_b =~ established.*sleeve.*weftx=$want_x ]] || e2e_fail "a-b not on the extended overlay: $line_b"
[[ $line_c == *established*sleeve* && $line_c != *weftx* ]] || e2e_fail "a-c should be plain sleeve: $line_c"

counter() {  # host name
  e2e_weave "$1" report | jq --arg k "$2" '.Router.DatapathStats[$k] // 0'
}
iperf() {  # client server server-ip
  in_c "$2" iperf3 -s -1 >/dev/null 2>&1 &
  E2E_PIDS+=("$!")
  sleep 0.5
  in_c "$1" iperf3 -c "$3" -t 3 -J
}
transfer() {  # from to to-ip [port] [-6]
  e2e_checked_transfer 20000000 "${E2E_PREFIX}c$1" "${E2E_PREFIX}c$2" "$3" "${4:-5001}" "${5:-}"
}

tx0=$(counter a sleeve_tx_ext_frames)
rx0=$(counter b sleeve_rx_ext_frames)
for dir in "a b 10.2.3.2" "b a 10.2.3.1" "a c 10.2.3.3" "c a 10.2.3.1"; do
  f0=$(counter a sleeve_tx_ext_frames) d0=$(counter a sleeve_tx_ext_datagrams)
  # shellcheck disable=SC2086
  j=$(iperf $dir) || e2e_fail "iperf3 $dir failed"
  if [[ $dir == "a b"* ]]; then
    # Superframes stay whole: each frame a sent took many fragment datagrams (a 1-MTU frame
    # takes one).
    f=$(( $(counter a sleeve_tx_ext_frames) - f0 )) d=$(( $(counter a sleeve_tx_ext_datagrams) - d0 ))
    e2e_log "iperf3 a->b: $f extended frames in $d datagrams"
    (( f > 100 && d > 4 * f )) || e2e_fail "superframes were not kept whole: $f frames, $d datagrams"
  fi
  bytes=$(jq '.end.sum_received.bytes' <<<"$j")
  (( bytes > 10000000 )) || e2e_fail "iperf3 $dir moved only $bytes bytes"
  e2e_log "iperf3 $dir: $(jq '.end.sum_received.bits_per_second/1e6 | floor' <<<"$j") Mbit/s"
done
transfer a b 10.2.3.2
transfer b a 10.2.3.1
transfer a c 10.2.3.3
transfer c a 10.2.3.1

# IPv6 TCP to the Weave-format peer: weft can cut only IPv4 TCP superframes for the sleeve, so the
# containers' TSO6 is off and these frames arrive complete (with TSO6 on, this transfer fails).
in_c a ip -6 addr add fd00:77::1/64 dev ethwe nodad
in_c c ip -6 addr add fd00:77::3/64 dev ethwe nodad
transfer a c fd00:77::3 5002 -6

tx=$(( $(counter a sleeve_tx_ext_frames) - tx0 ))
rx=$(( $(counter b sleeve_rx_ext_frames) - rx0 ))
frames_c=$(counter c sleeve_rx_ext_frames)
e2e_log "extended frames a->b: sent $tx, b reassembled $rx; c reassembled $frames_c"
(( tx > 1000 && rx > 1000 )) || e2e_fail "the extended overlay carried too little: tx $tx rx $rx"
(( frames_c == 0 )) || e2e_fail "c (no extension) received $frames_c extended frames"
e2e_pass
