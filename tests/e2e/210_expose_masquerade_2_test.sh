#!/usr/bin/env bash
# weave expose + masquerade (spec §6.8, §11.8) on a host that forwards (net.ipv4.ip_forward=1 in
# its netns, as Docker and Kubernetes hosts have it), and the router's iptables rules:
#  * launch puts the FORWARD block at the top, the INPUT rules and nat WEAVE <- POSTROUTING;
#  * a container routing through the exposed address reaches another host's address only once
#    the address is exposed with NAT (--without-masquerade first: no reply comes back);
#  * traffic from outside into the weave range is masqueraded to the bridge address;
#  * `weave stop` leaves no rule; `launch` restores them and re-exposes the bridge address;
#  * `weave hide` takes the expose rules away; `weave reset` every rule;
#  * --expect-npc --no-masq-local: the NPC FORWARD hooks (NFLOG 86, DROP), the ipset of this
#    peer's ranges, rules kept over a stop, gone after reset.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init expose_masquerade
for t in iptables-save iptables-restore ipset nc sha256sum; do command -v $t >/dev/null || e2e_skip "needs $t"; done

e2e_host a 192.168.77.1/24
e2e_host b 192.168.77.2/24
e2e_run a sysctl -qw net.ipv4.ip_forward=1
c=${E2E_PREFIX}c
ip netns add "$c"
E2E_NETNS+=("$c")
ip -n "$c" link set lo up
in_c() { nsenter --net="/run/netns/$c" -- "$@"; }
rules() { e2e_run a iptables-save; }
has() { grep -qxF -- "$1" <<<"$2"; }

# ---- launch: the router's rules -------------------------------------------------------------------
e2e_weave a launch --no-dns >/dev/null || e2e_fail "launch"
r=$(rules)
forward=$(grep '^-A FORWARD ' <<<"$r" | head -5)
want_forward="-A FORWARD -i docker0 -o weave -j DROP
-A FORWARD -i weave -o weave -j ACCEPT
-A FORWARD -o weave -j WEAVE-EXPOSE
-A FORWARD -i weave ! -o weave -j ACCEPT
-A FORWARD -o weave -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
[[ $forward == "$want_forward" ]] || e2e_fail "FORWARD block:
$forward"
has "-A POSTROUTING -j WEAVE" "$r" || e2e_fail "no POSTROUTING -j WEAVE: $r"
has ":WEAVE - [0:0]" "$r" || e2e_fail "no nat chain WEAVE"
has "-A INPUT -i docker0 -p udp -m udp --dport 53 -j ACCEPT" "$r" || e2e_fail "no INPUT DNS rule: $r"
grep -q -- '-A INPUT -d 127.0.0.1/32 -p tcp -m tcp --dport 6784 -m addrtype ! --src-type LOCAL .*-j DROP' <<<"$r" ||
  e2e_fail "no control-port INPUT rule: $r"

cip=$(e2e_weave a attach "netns:$c") || e2e_fail "attach"

# ---- expose without masquerade: the far host cannot answer ----------------------------------------
xip=$(e2e_weave a expose --without-masquerade) || e2e_fail "expose --without-masquerade"
in_c ip route add default via "$xip" || e2e_fail "default route via $xip"
r=$(rules)
has "-A WEAVE-EXPOSE -d 10.32.0.0/12 -j ACCEPT" "$r" || e2e_fail "no WEAVE-EXPOSE rule: $r"
grep -q MASQUERADE <<<"$r" && e2e_fail "masquerade rules despite --without-masquerade: $r"
in_c ping -c 2 -W 1 "$(e2e_ip b)" >/dev/null 2>&1 && e2e_fail "b answered an unmasqueraded container"

# ---- expose with masquerade ------------------------------------------------------------------------
[[ $(e2e_weave a expose) == "$xip" ]] || e2e_fail "expose gave another address"
r=$(rules)
for rule in "-A WEAVE -s 10.32.0.0/12 -d 224.0.0.0/4 -j RETURN" \
  "-A WEAVE ! -s 10.32.0.0/12 -d 10.32.0.0/12 -j MASQUERADE" \
  "-A WEAVE -s 10.32.0.0/12 ! -d 10.32.0.0/12 -j MASQUERADE"; do
  has "$rule" "$r" || e2e_fail "missing nat rule '$rule': $r"
done
e2e_wait_for 10 in_c ping -c 1 -W 1 "$(e2e_ip b)" || e2e_fail "container $cip cannot reach b through $xip"
e2e_checked_transfer 2000000 "$c" "$(e2e_ns b)" "$(e2e_ip b)" 5001

# Into the weave range from outside: masqueraded to the bridge address (b routes via a).
e2e_run b ip route add 10.32.0.0/12 via "$(e2e_ip a)"
in_c bash -c 'nc -n -v -l -p 5002 >/dev/null 2>"$1"' _ "$E2E_TMP/inbound.log" &
E2E_PIDS+=("$!")
sleep 0.5
echo hi | e2e_run b timeout 10 nc -N -w 5 "$cip" 5002 || e2e_fail "b cannot reach the container at $cip"
sleep 0.3
grep -qF "$xip" "$E2E_TMP/inbound.log" ||
  e2e_fail "inbound connection not masqueraded to $xip: $(cat "$E2E_TMP/inbound.log")"

# ---- idempotent: a weaver killed with -9 leaves its rules; the next one adds no second copy -------
before=$(rules | grep -i weave | sort)
kill -KILL "$(cat "$(e2e_state_dir a)/weaver.pid")"
sleep 0.5
e2e_weave a launch --no-dns >/dev/null || e2e_fail "launch after kill -9"
after=$(rules | grep -i weave | sort)
[[ $after == "$before" ]] || e2e_fail "rules differ after a re-apply:
$(diff <(echo "$before") <(echo "$after"))"
[[ -z $(uniq -d <<<"$after") ]] || e2e_fail "duplicate rules: $(uniq -d <<<"$after")"

# ---- stop leaves nothing; launch restores and re-exposes ----------------------------------------
e2e_weave a stop >/dev/null || e2e_fail "stop"
r=$(rules)
grep -qi 'weave' <<<"$r" && e2e_fail "rules left after weave stop: $r"
e2e_weave a launch --no-dns >/dev/null || e2e_fail "relaunch"
r=$(rules)
has "-A WEAVE ! -s 10.32.0.0/12 -d 10.32.0.0/12 -j MASQUERADE" "$r" || e2e_fail "not re-exposed after a restart: $r"
e2e_wait_for 10 in_c ping -c 1 -W 1 "$(e2e_ip b)" || e2e_fail "no masquerade after a restart"

# ---- hide, reset -----------------------------------------------------------------------------------
e2e_weave a hide >/dev/null || e2e_fail "hide"
r=$(rules)
grep -q -- '-A WEAVE -\|-A WEAVE !\|-A WEAVE-EXPOSE' <<<"$r" && e2e_fail "expose rules left after hide: $r"
has "-A POSTROUTING -j WEAVE" "$r" || e2e_fail "hide removed the router's own rules: $r"
e2e_weave a reset >/dev/null || e2e_fail "reset"
r=$(rules)
grep -qi 'weave' <<<"$r" && e2e_fail "rules left after weave reset: $r"

# ---- Kubernetes options: --expect-npc --no-masq-local ----------------------------------------------
e2e_weave a launch --no-dns --expect-npc --no-masq-local >/dev/null || e2e_fail "launch --expect-npc"
e2e_weave a prime >/dev/null || e2e_fail "prime"
r=$(rules)
forward=$(grep '^-A FORWARD ' <<<"$r" | head -7)
want_forward="-A FORWARD -i docker0 -o weave -j DROP
-A FORWARD -i weave -m comment --comment \"NOTE: this must go before \\'-j KUBE-FORWARD\\'\" -j WEAVE-NPC-EGRESS
-A FORWARD -o weave -m comment --comment \"NOTE: this must go before \\'-j KUBE-FORWARD\\'\" -j WEAVE-NPC
-A FORWARD -o weave -m state --state NEW -j NFLOG --nflog-group 86
-A FORWARD -o weave -j DROP
-A FORWARD -i weave ! -o weave -j ACCEPT
-A FORWARD -o weave -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
[[ $forward == "$want_forward" ]] || e2e_fail "NPC FORWARD block:
$forward"
has "-A INPUT -i weave -j WEAVE-NPC-EGRESS" "$r" || e2e_fail "no INPUT -j WEAVE-NPC-EGRESS: $r"
grep -q ':WEAVE-EXPOSE' <<<"$r" && e2e_fail "WEAVE-EXPOSE in NPC mode"
has '-A WEAVE -m set --match-set weaver-no-masq-local dst -m comment --comment "Prevent SNAT to locally running containers" -j RETURN' "$r" ||
  e2e_fail "no no-masq-local rule: $r"
e2e_wait_for 10 bash -c "nsenter --net=/run/netns/$(e2e_ns a) ipset list weaver-no-masq-local | grep -qx 10.32.0.0/12" ||
  e2e_fail "ipset weaver-no-masq-local lacks this peer's range: $(e2e_run a ipset list weaver-no-masq-local)"
[[ $(e2e_run a curl -s 127.0.0.1:6784/ipinfo/tracker) == no-masq-local ]] || e2e_fail "/ipinfo/tracker"
e2e_weave a stop >/dev/null || e2e_fail "stop (npc)"
has "-A FORWARD -o weave -j DROP" "$(rules)" || e2e_fail "--expect-npc: the FORWARD hooks went with the router"
e2e_weave a reset >/dev/null || e2e_fail "reset (npc)"
r=$(rules)
grep -qi 'weave' <<<"$r" && e2e_fail "rules left after reset (npc): $r"
e2e_run a ipset list weaver-no-masq-local >/dev/null 2>&1 && e2e_fail "ipset left after reset"
e2e_pass
