#!/usr/bin/env bash
# CNI end to end: Debian's podman (CNI backend) drives weft's weave-net plugin, installed by
# `weave setup-cni` with Weave's 10-weave.conflist unchanged (weave-net with hairpinMode, portmap
# chained), on two hosts each running weaver:
#   * `podman run --network weave` containers get addresses from weft's IPAM (GET /ip lists them
#     under the container ID), on vethwepl<id7> ports of the bridge with hairpin on, MTU = bridge;
#   * they ping across hosts; a published port (portmap) answers from the other host;
#   * traffic from a pod to an address outside the weave network is masqueraded (nat WEAVE);
#   * `podman rm` releases the address.
# Then the plugin by hand, as a runtime would call it: config 1.0.0 ADD, CHECK with prevResult,
# DEL twice (idempotent), VERSION, and bad config / bad environment: a CNI error and no change.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/podman_lib.sh"
e2e_init cni_podman

e2e_host a 192.168.83.1/24
e2e_host b 192.168.83.2/24
e2e_weave a launch
e2e_weave b launch "$(e2e_ip a)"
e2e_wait_for 30 e2e_weave a status connections || e2e_fail "a and b did not connect"

# A node routes for its pods (kubelet and podman's own bridge plugin turn this on; weave-net, like
# Weave's, leaves the host's sysctls alone). Our own namespaces only.
for h in a b; do e2e_run "$h" sysctl -qw net.ipv4.ip_forward=1; done

# Without the image's bundle, setup-cni installs a copy of weaver itself.
e2e_cni_install "$E2E_TMP/cni-plain"
[[ $(head -c 4 "$E2E_TMP"/cni-plain/bin/weave-plugin-* | od -An -c | tr -d ' ') == 177ELF ]] ||
  e2e_fail "plain setup-cni did not copy weaver"
# podman uses the plugin as the image installs it on a node: the bundle container/build-image
# stages (weaver with its own libraries and loader) behind a small launcher.
"$WEFT_SOURCE_DIR/container/build-image" --build-dir "$WEFT_BUILD_DIR" --tar "$E2E_TMP/rootfs.tar" >/dev/null ||
  e2e_fail "container/build-image --tar failed"
mkdir -p "$E2E_TMP/rootfs"
tar -C "$E2E_TMP/rootfs" -xf "$E2E_TMP/rootfs.tar" ./usr/lib/weft-cni
rm -f "$E2E_TMP/rootfs.tar"
CNI=$E2E_TMP/cni
e2e_cni_install "$CNI" "$E2E_TMP/rootfs/usr/lib/weft-cni"
head -1 "$CNI"/bin/weave-plugin-* | grep -q '^#!/bin/sh' || e2e_fail "setup-cni did not install the bundle launcher"
# What setup-cni installed is Weave's layout.
[[ -L $CNI/bin/weave-net && $(readlink "$CNI/bin/weave-net") == weave-plugin-* ]] || e2e_fail "weave-net is not a link to weave-plugin-<ver>"
[[ -L $CNI/bin/weave-ipam ]] || e2e_fail "weave-ipam missing"
jq -e '.cniVersion == "0.3.0" and .plugins[0].type == "weave-net" and .plugins[0].hairpinMode == true
       and .plugins[1].type == "portmap" and .plugins[1].snat == true' "$CNI/net.d/10-weave.conflist" >/dev/null ||
  e2e_fail "unexpected conflist: $(cat "$CNI/net.d/10-weave.conflist")"

e2e_podman_init a "$CNI"
e2e_podman_init b "$CNI"

e2e_podman_run a -d --network weave --name c1 localhost/busybox sleep 600 >/dev/null || e2e_fail "podman run c1"
e2e_podman_run b -d --network weave --name c2 localhost/busybox sleep 600 >/dev/null || e2e_fail "podman run c2"
e2e_podman_run a -d --network weave --name web -p 8080:80 localhost/busybox httpd -f -p 80 -h /www >/dev/null ||
  e2e_fail "podman run web"

ip_of() { e2e_podman "$1" exec "$2" ip -4 -o addr show eth0 | awk '{print $4}'; }
C1=$(ip_of a c1)
C2=$(ip_of b c2)
e2e_log "c1 $C1, c2 $C2"
[[ $C1 == 10.3[2-9].* || $C1 == 10.4[0-7].* ]] || e2e_fail "c1 address $C1 is not from 10.32.0.0/12"
[[ ${C1#*/} == 12 ]] || e2e_fail "c1 prefix is not the range's /12: $C1"
ID1=$(e2e_podman a inspect -f '{{.Id}}' c1)
e2e_run a curl -sS http://127.0.0.1:6784/ip | jq -e --arg id "$ID1" --arg ip "$C1" \
  '.owned[] | select(.containerid == $id) | .addrs | index($ip)' >/dev/null ||
  e2e_fail "GET /ip does not list $C1 for c1 ($ID1): $(e2e_run a curl -sS http://127.0.0.1:6784/ip)"

# The host end: vethwepl<id7>, a hairpin port of the weave bridge, MTU = bridge.
VETH=vethwepl${ID1:0:7}
e2e_run a ip -d link show "$VETH" | grep -q "master weave" || e2e_fail "$VETH is not on the weave bridge"
e2e_run a ip -d link show "$VETH" | grep -q "hairpin on" || e2e_fail "hairpin is not on for $VETH"
BR_MTU=$(e2e_run a ip -o link show weave | sed "s/.* mtu \([0-9]*\).*/\1/")
POD_MTU=$(e2e_podman a exec c1 cat /sys/class/net/eth0/mtu)
[[ $BR_MTU == "$POD_MTU" ]] || e2e_fail "pod MTU $POD_MTU != bridge MTU $BR_MTU"
# The gateway is the bridge's address (weave:expose, allocated by the plugin).
GW=$(e2e_podman a exec c1 ip route show default | awk '{print $3}')
e2e_run a ip -4 addr show weave | grep -q "inet $GW/" || e2e_fail "default gateway $GW is not on the bridge"

e2e_podman a exec c1 ping -c 3 -W 2 "${C2%/*}" >/dev/null || e2e_fail "c1 cannot ping c2 across hosts"
e2e_podman b exec c2 ping -c 3 -W 2 "${C1%/*}" >/dev/null || e2e_fail "c2 cannot ping c1 across hosts"

# portmap, chained after weave-net: host a's port 8080 reaches web's httpd from host b.
out=$(e2e_run b curl -sS --max-time 10 "http://$(e2e_ip a):8080/index.html") || e2e_fail "portmap: no answer on $(e2e_ip a):8080"
[[ $out == "hello from weft" ]] || e2e_fail "portmap: unexpected answer '$out'"

# Pod egress: traffic leaving the weave network is masqueraded to the host's address by the nat
# chain WEAVE, which the router set up when the plugin exposed the bridge (POST /expose).
e2e_run a iptables -w -t nat -S WEAVE | grep -q -- "-s 10.32.0.0/12 ! -d 10.32.0.0/12 -j MASQUERADE" ||
  e2e_fail "no MASQUERADE rule for the weave range: $(e2e_run a iptables -w -t nat -S WEAVE)"
e2e_bg b egress.log nc -n -v -l -p 9000
sleep 0.5
e2e_podman a exec c1 sh -c "echo from-pod | nc -w 2 $(e2e_ip b) 9000" || e2e_fail "c1 cannot reach host b's address"
e2e_wait_for 5 grep -q "Connection received on $(e2e_ip a) " "$E2E_TMP/egress.log" ||
  e2e_fail "pod egress not masqueraded to $(e2e_ip a): $(cat "$E2E_TMP/egress.log")"
grep -q from-pod "$E2E_TMP/egress.log" || e2e_fail "the egress payload did not arrive"

# podman rm releases the address.
e2e_podman a rm -f -t 0 c1 >/dev/null || e2e_fail "podman rm c1"
e2e_run a curl -sS http://127.0.0.1:6784/ip | jq -e --arg id "$ID1" '[.owned[]? | select(.containerid == $id)] | length == 0' >/dev/null ||
  e2e_fail "the address of c1 is still allocated after podman rm"
e2e_run a ip link show "$VETH" >/dev/null 2>&1 && e2e_fail "$VETH still exists after podman rm"

# ---- the plugin called directly, as a runtime does -------------------------------------------------
NS=${E2E_PREFIX}pod
ip netns add "$NS"
E2E_NETNS+=("$NS")
PLUGIN=$CNI/bin/weave-net
cni() { # cni COMMAND ID CONFIG [IFNAME]: the plugin in host a's netns; stdout only
  local cmd=$1 id=$2 conf=$3 ifname=${4:-eth0}
  e2e_run a env -i PATH="$PATH" CNI_COMMAND="$cmd" CNI_CONTAINERID="$id" CNI_NETNS="/run/netns/$NS" \
    CNI_IFNAME="$ifname" CNI_PATH="$CNI/bin" "$PLUGIN" <<<"$conf"
}
CONF='{"cniVersion":"1.0.0","name":"weave","type":"weave-net","hairpinMode":false,"mtu":1300}'
ID=feedc0ffee0123456789
res=$(cni ADD $ID "$CONF") || e2e_fail "ADD failed: $res"
echo "$res" | jq -e '.cniVersion == "1.0.0" and (.ips[0].address | startswith("10.")) and .ips[0].interface == 1
  and .interfaces[1].name == "eth0" and .interfaces[1].sandbox == "/run/netns/'"$NS"'"
  and .interfaces[0].name == "vethwepl'"${ID:0:7}"'" and (.ips[0] | has("version") | not)' >/dev/null ||
  e2e_fail "ADD result not as CNI 1.0.0 wants: $res"
ADDR=$(echo "$res" | jq -r '.ips[0].address')
[[ $(ip -n "$NS" -o -4 addr show eth0 | awk '{print $4}') == "$ADDR" ]] || e2e_fail "eth0 does not have $ADDR"
[[ $(ip netns exec "$NS" cat /sys/class/net/eth0/mtu) == 1300 ]] || e2e_fail "mtu 1300 not applied"
e2e_run a ip -d link show "vethwepl${ID:0:7}" | grep -q "hairpin off" || e2e_fail "hairpinMode false not applied"
ip netns exec "$NS" iptables -w -S INPUT | grep -q -- "-d 224.0.0.0/4 -i eth0 -j DROP" || e2e_fail "pod multicast DROP rule missing"
# ADD again: same address (idempotent).
res2=$(cni ADD $ID "$CONF") || e2e_fail "second ADD failed: $res2"
[[ $(echo "$res2" | jq -r '.ips[0].address') == "$ADDR" ]] || e2e_fail "second ADD gave another address"
# CHECK with prevResult passes; after the address is gone from eth0 it fails.
CHECK_CONF=$(jq -c --argjson prev "$res" '. + {prevResult: $prev}' <<<"$CONF")
cni CHECK $ID "$CHECK_CONF" >/dev/null || e2e_fail "CHECK failed on a healthy pod"
ip -n "$NS" addr del "$ADDR" dev eth0
out=$(cni CHECK $ID "$CHECK_CONF") && e2e_fail "CHECK passed without the address"
echo "$out" | jq -e '.code == 100 and (.msg | contains("does not have address"))' >/dev/null || e2e_fail "CHECK error: $out"
# CHECK is refused for configs older than 0.4.0 (as the spec says).
out=$(cni CHECK $ID '{"cniVersion":"0.3.1","name":"weave","type":"weave-net"}') && e2e_fail "CHECK accepted 0.3.1"
[[ $(echo "$out" | jq -r .code) == 1 ]] || e2e_fail "CHECK on 0.3.1: $out"
# DEL removes the interface and the address; a second DEL succeeds too.
cni DEL $ID "$CONF" >/dev/null || e2e_fail "DEL failed"
ip -n "$NS" link show eth0 >/dev/null 2>&1 && e2e_fail "eth0 survived DEL"
e2e_run a curl -sS "http://127.0.0.1:6784/ip/$ID" | grep -q . && e2e_fail "address survived DEL"
cni DEL $ID "$CONF" >/dev/null || e2e_fail "second DEL failed (must be idempotent)"
e2e_run a env -i CNI_COMMAND=DEL CNI_CONTAINERID=gone CNI_NETNS=/run/netns/nonexistent CNI_IFNAME=eth0 \
  CNI_PATH="$CNI/bin" "$PLUGIN" <<<"$CONF" >/dev/null || e2e_fail "DEL with a vanished netns failed"
# VERSION.
ver=$(cni VERSION x '{"cniVersion":"1.0.0"}')
echo "$ver" | jq -e '.supportedVersions == ["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0"]' >/dev/null || e2e_fail "VERSION: $ver"

# Bad input changes nothing: no link, no allocation.
before_links=$(e2e_run a ip -o link | wc -l)
before_ip=$(e2e_run a curl -sS http://127.0.0.1:6784/ip)
out=$(cni ADD bad1 '{"cniVersion":"1.0.0","name":"weave","type":"weave-net","mtu":"big"}') && e2e_fail "ADD took a bad mtu"
echo "$out" | jq -e '.code == 7 and (.msg | startswith("failed to load netconf"))' >/dev/null || e2e_fail "bad mtu: $out"
out=$(cni ADD bad2 '{"cniVersion":"9.0.0","name":"weave","type":"weave-net"}') && e2e_fail "ADD took version 9.0.0"
[[ $(echo "$out" | jq -r .code) == 1 ]] || e2e_fail "bad version: $out"
out=$(cni ADD bad3 '{"cniVersion":"1.0.0","name":"weave","type":"weave-net","bridge":"nosuchbr"}') && e2e_fail "ADD took a missing bridge"
echo "$out" | jq -e '.msg == "bridge \"nosuchbr\" not present; did you launch weave?"' >/dev/null || e2e_fail "missing bridge: $out"
out=$(e2e_run a env -i CNI_COMMAND=ADD CNI_CONTAINERID=bad4 CNI_NETNS=/run/netns/nonexistent CNI_IFNAME=eth0 \
  CNI_PATH="$CNI/bin" "$PLUGIN" <<<"$CONF") && e2e_fail "ADD took a missing netns"
[[ $(echo "$out" | jq -r .code) == 3 ]] || e2e_fail "missing netns: $out"
out=$(e2e_run a env -i CNI_COMMAND=ADD CNI_CONTAINERID=bad5 CNI_NETNS=/proc/self/ns/net CNI_IFNAME=eth0 \
  CNI_PATH="$CNI/bin" "$PLUGIN" <<<"$CONF") && e2e_fail "ADD took the host netns"
echo "$out" | jq -e '.msg | contains("can not specify host network namespace")' >/dev/null || e2e_fail "host netns: $out"
out=$(e2e_run a env -i CNI_COMMAND=ADD CNI_NETNS="/run/netns/$NS" CNI_PATH="$CNI/bin" "$PLUGIN" <<<"$CONF") &&
  e2e_fail "ADD without CNI_CONTAINERID/CNI_IFNAME"
[[ $(echo "$out" | jq -r .code) == 4 ]] || e2e_fail "missing env: $out"
[[ $(e2e_run a ip -o link | wc -l) == "$before_links" ]] || e2e_fail "a failed ADD left a link behind"
[[ $(e2e_run a curl -sS http://127.0.0.1:6784/ip) == "$before_ip" ]] || e2e_fail "a failed ADD left an allocation behind"

e2e_pass
