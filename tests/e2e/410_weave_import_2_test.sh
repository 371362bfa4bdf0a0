#!/usr/bin/env bash
# Moving Weave Net hosts to weft in place (issue 16): each host's state folder holds a real
# weavedata.db written by Weave 2.8.1 (tests/fixtures/weave-boltdb: A on host a, B on host b).
# `weave launch` with weft imports it: same peer name, the ring is accepted by the other peer
# (no "which I think I own"), every container keeps its address, new allocations are unique and
# come from each peer's own share; weft's state goes beside Weave's file, which is left byte for
# byte and named in the log as the backup; a restart uses weft's file.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init weave_import
command -v jq >/dev/null || e2e_skip "needs jq"
fixtures=$WEFT_SOURCE_DIR/tests/fixtures/weave-boltdb

e2e_host a 192.168.77.1/24
e2e_host b 192.168.77.2/24
for h in a b; do
  src=$fixtures/${h^^}/weavedata.db
  cp "$src" "$(e2e_state_dir $h)/weavedata.db"
  chmod 0600 "$(e2e_state_dir $h)/weavedata.db"
done
sum_a=$(sha256sum <"$(e2e_state_dir a)/weavedata.db")
sum_b=$(sha256sum <"$(e2e_state_dir b)/weavedata.db")

e2e_weave a launch --no-dns --ipalloc-init consensus=2 >/dev/null || e2e_fail "launch a: $(tail -5 "$(e2e_state_dir a)/weaver.log")"
e2e_weave b launch --no-dns --ipalloc-init consensus=2 "$(e2e_ip a)" >/dev/null || e2e_fail "launch b"
for h in a b; do
  log=$(e2e_state_dir $h)/weaver.log
  grep -q "imported Weave Net's state from $(e2e_state_dir $h)/weavedata.db into $(e2e_state_dir $h)/weft-weavedata.db" "$log" ||
    e2e_fail "$h: no import line: $(grep -i weave "$log" | head -5)"
  grep -q "is kept unchanged as a backup" "$log" || e2e_fail "$h: the backup is not named in the log"
  [[ -s $(e2e_state_dir $h)/weft-weavedata.db ]] || e2e_fail "$h: no weft state file beside Weave's"
done
[[ $(e2e_weave a report -f '{{.Router.Name}}') == 00:00:00:00:aa:01 ]] || e2e_fail "a is not Weave's peer aa:01"
[[ $(e2e_weave b report -f '{{.Router.Name}}') == 00:00:00:00:bb:01 ]] || e2e_fail "b is not Weave's peer bb:01"

# The two carry on with the ring they had: connected, the ring accepted, each owning its half.
e2e_wait_for 30 bash -c "[[ \$(WEAVE_STATE_DIR=$(e2e_state_dir a) nsenter --net=/run/netns/$(e2e_ns a) $E2E_WEAVE status connections) == *established* ]]" ||
  e2e_fail "a and b did not connect: $(e2e_weave a status connections)"
sleep 2  # a round of IPAM gossip both ways
for h in a b; do
  log=$(e2e_state_dir $h)/weaver.log
  ! grep -q "which I think I own" "$log" || e2e_fail "$h refused the other's ring: $(grep 'think I own' "$log" | head -2)"
done
ring=$(e2e_weave a status ipam)
[[ $ring == *"00:00:00:00:aa:01"* && $ring == *"00:00:00:00:bb:01"* ]] || e2e_fail "a's ring: $ring"
ipam_a=$(e2e_run a curl -sf -H 'Accept: application/json' 127.0.0.1:6784/report | jq -c '[.IPAM.Entries[] | [.Token, .Peer]]')
[[ $ipam_a == '[["10.32.0.0","00:00:00:00:aa:01"],["10.40.0.0","00:00:00:00:bb:01"]]' ]] ||
  e2e_fail "a's ring entries: $ipam_a"

# Every container keeps its address.
owned() { e2e_run "$1" curl -sf 127.0.0.1:6784/ip | jq -r '.owned[] | "\(.containerid) \(.addrs | join(","))"' | sort; }
[[ $(owned a) == "c1 10.32.0.1/12
c2 10.32.0.2/12
c3 10.32.0.3/12
c4 10.32.0.200/12
c5 10.32.0.4/16" ]] || e2e_fail "a's owned addresses: $(owned a)"
[[ $(owned b) == "d1 10.40.0.0/12
d2 10.40.0.1/12" ]] || e2e_fail "b's owned addresses: $(owned b)"
[[ $(e2e_run a curl -sf 127.0.0.1:6784/ip/c4) == 10.32.0.200/12 ]] || e2e_fail "lookup of c4"

# New allocations: unique, not any kept address, each from the allocating peer's own range.
declare -a got=()
for i in 1 2 3 4 5 6; do
  for h in a b; do
    ip=$(e2e_run $h curl -sf -X POST "127.0.0.1:6784/ip/new-$h-$i") || e2e_fail "allocation on $h failed"
    got+=("$ip")
    case $h in
      a) [[ $ip =~ ^10\.(3[2-9])\. ]] || e2e_fail "a allocated $ip outside its range 10.32.0.0-10.39.255.255" ;;
      b) [[ $ip =~ ^10\.(4[0-7])\. ]] || e2e_fail "b allocated $ip outside its range 10.40.0.0-10.47.255.255" ;;
    esac
  done
done
all=$(printf '%s\n' "${got[@]}" 10.32.0.1/12 10.32.0.2/12 10.32.0.3/12 10.32.0.200/12 10.40.0.0/12 10.40.0.1/12 |
  sed 's#/.*##' | sort)
[[ -z $(uniq -d <<<"$all") ]] || e2e_fail "duplicate addresses: $(uniq -d <<<"$all")"
[[ " ${got[*]} " != *" 10.32.0.4/"* ]] || e2e_fail "reused c5's 10.32.0.4"

# Weave's files were never written.
[[ $(sha256sum <"$(e2e_state_dir a)/weavedata.db") == "$sum_a" ]] || e2e_fail "a's weavedata.db changed"
[[ $(sha256sum <"$(e2e_state_dir b)/weavedata.db") == "$sum_b" ]] || e2e_fail "b's weavedata.db changed"

# A restart uses weft's own file (the new allocation survives; Weave's file is still the backup).
e2e_weave a stop >/dev/null || e2e_fail "stop a"
e2e_weave a launch --no-dns --ipalloc-init consensus=2 "$(e2e_ip b)" >/dev/null || e2e_fail "relaunch a"
grep -q "is Weave Net's state file, kept unchanged as a backup; weft's state is in" "$(e2e_state_dir a)/weaver.log" ||
  e2e_fail "restart did not use weft's file"
[[ $(e2e_run a curl -sf 127.0.0.1:6784/ip/new-a-1) == "${got[0]}" ]] || e2e_fail "new-a-1 lost its address over a restart"
[[ $(sha256sum <"$(e2e_state_dir a)/weavedata.db") == "$sum_a" ]] || e2e_fail "a's weavedata.db changed on restart"
e2e_pass
