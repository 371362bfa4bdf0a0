# shellcheck shell=bash
# tests/e2e/lib.sh: helpers for end-to-end tests in network namespaces (house style R15).
#
# A test `tests/e2e/NNN_name_K_test.sh` (K = simulated hosts) looks like:
#
#   . "$(dirname "$0")/lib.sh"
#   e2e_init name                      # root check (exit 77 = skip), traps, underlay namespace
#   e2e_host a 192.168.77.1/24         # netns ${E2E_PREFIX}a on the shared underlay bridge
#   e2e_host b 192.168.77.2/24
#   e2e_weave a launch                 # scripts/weave inside a's netns with a's own state dir
#   e2e_weave b launch "$(e2e_ip a)"
#   e2e_wait_for 30 e2e_weave a status connections || e2e_fail "no connection"
#   e2e_pass
#
# Network safety: every link, address and route lives in a namespace this test created; nothing
# is ever added to the root namespace. The underlay bridge lives in its own netns ${E2E_PREFIX}ul
# and each host is joined to it by a veth pair created inside that netns. Names carry a per-run
# prefix (wt + 5 digits of $$, maybe + a letter) so that link names fit IFNAMSIZ (15). Cleanup
# (EXIT trap, also on failure or signal) kills only the PIDs this test recorded or launched and
# deletes only the namespaces it created.
#
# Environment: WEFT_SOURCE_DIR, WEFT_BUILD_DIR (set by ctest; default: this repo and its build/),
# CI (non-empty: missing root is a failure, not a skip), E2E_KEEP=1 (keep the temp dir).

E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WEFT_SOURCE_DIR=${WEFT_SOURCE_DIR:-$(cd "$E2E_LIB_DIR/../.." && pwd)}
WEFT_BUILD_DIR=${WEFT_BUILD_DIR:-$WEFT_SOURCE_DIR/build}
E2E_WEAVE=${E2E_WEAVE_SCRIPT:-$WEFT_SOURCE_DIR/scripts/weave}
E2E_WEAVER=$WEFT_BUILD_DIR/bin/weaver

E2E_NAME=""
E2E_PREFIX=""
E2E_TMP=""
E2E_UL=""        # underlay netns
E2E_BRIDGE=""    # bridge inside $E2E_UL
E2E_NETNS=()     # every netns we created, in creation order
E2E_PIDS=()      # background processes we started
E2E_HOSTS=()     # host names in creation order
declare -A E2E_HOST_IP=()
declare -A E2E_HOST_NS=()
E2E_LAST_PID=""
E2E_CLEANED=""
E2E_CLEANUP_HOOKS=()  # functions e2e_cleanup calls first (e.g. to remove containers)

E2E_STDERR=2
# NB: writes to the test's original stderr: a trap may fire inside a `cmd 2>/dev/null` redirection.
e2e_log() { echo "e2e[$E2E_NAME]: $*" >&"$E2E_STDERR"; }

# Exit 77 (ctest skip) or, under CI, fail: CI must not silently skip.
e2e_skip() {
  if [[ -n ${CI:-} ]]; then
    echo "FAIL: $E2E_NAME: $* (CI is set, so this cannot be skipped)" >&2
    exit 1
  fi
  echo "SKIP: $E2E_NAME: $*" >&2
  exit 77
}

# e2e_init NAME: checks privileges and tools, sets traps, creates the underlay netns and bridge.
e2e_init() {
  E2E_NAME=$1
  set -euo pipefail
  if [[ $(id -u) -ne 0 ]]; then
    e2e_skip "needs root (network namespaces)"
  fi
  local tool
  for tool in ip nsenter ping curl; do
    command -v "$tool" >/dev/null 2>&1 || e2e_skip "needs '$tool'"
  done

  # A prefix no existing netns uses (a crashed run with the same pid may have left some behind).
  local base letter
  base=$(printf 'wt%05d' $(($$ % 100000)))
  E2E_PREFIX=$base
  for letter in "" a b c d e f g h i j k m n p q r s t u v w x y z; do
    E2E_PREFIX=$base$letter
    # NB: no `| grep -q` under pipefail: grep's early exit would fail the pipeline via SIGPIPE.
    if [[ $'\n'$(ip netns list 2>/dev/null | awk '{print $1}') != *$'\n'$E2E_PREFIX* ]]; then
      break
    fi
  done

  exec {E2E_STDERR}>&2
  E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/weft-e2e-$E2E_NAME.XXXXXX")
  trap e2e_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP

  E2E_UL=${E2E_PREFIX}ul
  E2E_BRIDGE=${E2E_PREFIX}br
  if ! ip netns add "$E2E_UL" 2>/dev/null; then
    e2e_skip "cannot create network namespaces here"
  fi
  E2E_NETNS+=("$E2E_UL")
  ip -n "$E2E_UL" link set lo up
  ip -n "$E2E_UL" link add "$E2E_BRIDGE" type bridge
  ip -n "$E2E_UL" link set "$E2E_BRIDGE" up
  e2e_log "prefix $E2E_PREFIX, temp dir $E2E_TMP"
}

# e2e_host NAME IP/LEN: a netns ${E2E_PREFIX}NAME whose eth0 (IP/LEN) is on the underlay bridge.
e2e_host() {
  local name=$1 cidr=$2
  local ns=${E2E_PREFIX}$name
  local idx=${#E2E_HOSTS[@]}
  local veth=${E2E_PREFIX}v$idx
  if [[ -n ${E2E_HOST_NS[$name]:-} ]]; then
    e2e_fail "host $name exists already"
  fi
  if ((${#veth} > 15)); then
    e2e_fail "link name $veth is longer than IFNAMSIZ"
  fi
  ip netns add "$ns"
  E2E_NETNS+=("$ns")
  ip -n "$ns" link set lo up
  # Both ends are created inside namespaces we own: never in the root namespace.
  ip -n "$E2E_UL" link add "$veth" type veth peer name eth0 netns "$ns"
  ip -n "$E2E_UL" link set "$veth" master "$E2E_BRIDGE" up
  ip -n "$ns" addr add "$cidr" dev eth0
  ip -n "$ns" link set eth0 up
  E2E_HOSTS+=("$name")
  E2E_HOST_NS[$name]=$ns
  E2E_HOST_IP[$name]=${cidr%/*}
  mkdir -p "$E2E_TMP/$name/weave"
}

e2e_ns() { echo "${E2E_HOST_NS[$1]:?unknown host $1}"; }
e2e_ip() { echo "${E2E_HOST_IP[$1]:?unknown host $1}"; }
# Per-host weave state dir (WEAVE_STATE_DIR for e2e_weave).
e2e_state_dir() { echo "$E2E_TMP/${1:?host}/weave"; }

# e2e_run HOST CMD...: runs CMD in HOST's network namespace (other namespaces are shared).
e2e_run() {
  local ns
  ns=$(e2e_ns "$1")
  shift
  nsenter --net="/run/netns/$ns" -- "$@"
}

# e2e_bg HOST LOGFILE CMD...: starts CMD in the background in HOST's netns, output to LOGFILE
# (relative names go to the test's temp dir); records its PID for cleanup in E2E_LAST_PID.
e2e_bg() {
  local ns log
  ns=$(e2e_ns "$1")
  log=$2
  shift 2
  [[ $log == /* ]] || log=$E2E_TMP/$log
  # nsenter execs CMD, so $! is CMD's own pid.
  nsenter --net="/run/netns/$ns" -- "$@" </dev/null >"$log" 2>&1 &
  E2E_LAST_PID=$!
  E2E_PIDS+=("$E2E_LAST_PID")
  # Return once the process has entered the netns (or died), so callers never race the setns.
  local want i
  want=$(stat -L -c %i "/run/netns/$ns")
  for ((i = 0; i < 100; i++)); do
    [[ $(stat -L -c %i "/proc/$E2E_LAST_PID/ns/net" 2>/dev/null) != "$want" ]] || break
    kill -0 "$E2E_LAST_PID" 2>/dev/null || break
    sleep 0.05
  done
}

# e2e_weave HOST ARGS...: scripts/weave in HOST's netns with HOST's state dir and this build's
# weaver. Processes it launches are stopped by e2e_cleanup through the state dir's weaver.pid.
# DOCKER_HOST is the host's test dockerd (e2e_dockerd) if it has one, else a socket nothing
# answers on, so a Docker engine on the machine never turns a launch into container mode.
e2e_weave() {
  local host=$1
  shift
  WEAVE_STATE_DIR=$(e2e_state_dir "$host") WEAVER_BIN=${WEAVER_BIN:-$E2E_WEAVE_BIN_DEFAULT} \
    DOCKER_HOST=${DOCKER_HOST_OVERRIDE:-${E2E_DOCKER_HOST[$host]:-unix://$E2E_TMP/no-docker.sock}} \
    e2e_run "$host" "$E2E_WEAVE" "$@"
}
E2E_WEAVE_BIN_DEFAULT=$E2E_WEAVER

# ---- Docker (tests of the proxy, the plugin and the router image) -------------------------------
declare -A E2E_DOCKER_HOST=()
E2E_DOCKERDS=()  # hosts with a dockerd

# e2e_dockerd HOST BRIDGE_CIDR: starts a private dockerd in HOST's netns (nsenter --net, so cgroups
# stay visible), with its data, exec root and socket under the test's temp dir, the vfs storage
# driver, and docker0 at BRIDGE_CIDR inside that netns. Imports busybox-static as `busybox`.
# Sets E2E_DOCKER_HOST[HOST]; `e2e_docker HOST ...` runs the docker CLI against it.
e2e_dockerd() {
  local host=$1 bip=$2 d
  command -v dockerd >/dev/null || e2e_skip "needs dockerd (docker.io; scripts/install-deps)"
  command -v docker >/dev/null || e2e_skip "needs the docker CLI"
  [[ -x /bin/busybox ]] || e2e_skip "needs busybox-static"
  d=$E2E_TMP/$host/docker
  mkdir -p "$d"
  e2e_bg "$host" "$host-dockerd.log" dockerd --data-root "$d/data" --exec-root "$d/exec" \
    --pidfile "$d/dockerd.pid" -H "unix://$d/docker.sock" --storage-driver=vfs --bip "$bip" \
    --iptables=true --userland-proxy=false --log-level=warn
  E2E_DOCKER_HOST[$host]=unix://$d/docker.sock
  E2E_DOCKERDS+=("$host")
  local i
  for ((i = 0; i < 150; i++)); do
    DOCKER_HOST=${E2E_DOCKER_HOST[$host]} docker version >/dev/null 2>&1 && break
    kill -0 "$E2E_LAST_PID" 2>/dev/null || e2e_fail "dockerd died: $(tail -5 "$E2E_TMP/$host-dockerd.log")"
    sleep 0.2
  done
  DOCKER_HOST=${E2E_DOCKER_HOST[$host]} docker version >/dev/null 2>&1 ||
    e2e_fail "dockerd on $host did not answer: $(tail -5 "$E2E_TMP/$host-dockerd.log")"
  # busybox image from busybox-static (no registry here).
  e2e_busybox_rootfs "$E2E_TMP/$host/bbroot"
  tar -C "$E2E_TMP/$host/bbroot" -c . | DOCKER_HOST=${E2E_DOCKER_HOST[$host]} docker import \
    --change 'ENV PATH=/bin' - busybox:latest >/dev/null || e2e_fail "docker import busybox"
}

# e2e_busybox_rootfs DIR: a root filesystem of busybox-static applets (/bin), with
# /www/index.html ("hello from weft"), for `docker import` / `podman import`.
e2e_busybox_rootfs() {
  local root=$1 applet
  mkdir -p "$root/bin" "$root/etc" "$root/www"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [[ $applet == busybox ]] || ln -sf busybox "$root/bin/$applet"
  done
  echo "hello from weft" >"$root/www/index.html"
}

# e2e_docker HOST ARGS...: the docker CLI against HOST's dockerd (DOCKER_CLI picks the client).
e2e_docker() {
  local host=$1
  shift
  DOCKER_HOST=${DOCKER_HOST_OVERRIDE:-${E2E_DOCKER_HOST[$host]:?no dockerd on $host}} ${DOCKER_CLI:-docker} "$@"
}

# Stops the test's dockerds: their containers first (so no shim outlives the test), then the
# daemon by pid, then whatever it left mounted under the temp dir.
e2e_stop_dockerds() {
  local host pidfile pid ids
  for host in "${E2E_DOCKERDS[@]}"; do
    ids=$(DOCKER_HOST=${E2E_DOCKER_HOST[$host]} timeout 20 docker ps -aq 2>/dev/null)
    # shellcheck disable=SC2086
    [[ -z $ids ]] || DOCKER_HOST=${E2E_DOCKER_HOST[$host]} timeout 60 docker rm -f -v $ids >/dev/null 2>&1
    pidfile=$E2E_TMP/$host/docker/dockerd.pid
    if [[ -r $pidfile ]] && read -r pid <"$pidfile" && [[ $pid =~ ^[0-9]+$ ]]; then
      e2e_kill_pid "$pid"
    fi
  done
  ((${#E2E_DOCKERDS[@]} == 0)) || e2e_umount_tmp
}

# Lazily unmounts whatever a container runtime left mounted under the test's temp dir.
e2e_umount_tmp() {
  local m
  awk -v t="$E2E_TMP" 'index($2, t) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null
  done
}

# e2e_block A B / e2e_unblock A B: make A and B unable to reach each other (a silent drop on
# both sides, like a partition), and undo it. iptables inside the two hosts' namespaces;
# blackhole routes if iptables is unusable there.
e2e_block() {
  local a=$1 b=$2
  if e2e_run "$a" iptables -w -I INPUT -s "$(e2e_ip "$b")" -j DROP 2>/dev/null &&
    e2e_run "$b" iptables -w -I INPUT -s "$(e2e_ip "$a")" -j DROP 2>/dev/null; then
    return 0
  fi
  e2e_run "$a" ip route replace blackhole "$(e2e_ip "$b")/32"
  e2e_run "$b" ip route replace blackhole "$(e2e_ip "$a")/32"
}

e2e_unblock() {
  local a=$1 b=$2
  while e2e_run "$a" iptables -w -D INPUT -s "$(e2e_ip "$b")" -j DROP 2>/dev/null; do :; done
  while e2e_run "$b" iptables -w -D INPUT -s "$(e2e_ip "$a")" -j DROP 2>/dev/null; do :; done
  e2e_run "$a" ip route del blackhole "$(e2e_ip "$b")/32" 2>/dev/null || true
  e2e_run "$b" ip route del blackhole "$(e2e_ip "$a")/32" 2>/dev/null || true
}

# e2e_wait_for TIMEOUT_S CMD...: runs CMD (output discarded) every 0.2 s until it succeeds;
# returns 1 after TIMEOUT_S seconds.
e2e_wait_for() {
  local timeout=$1
  shift
  local deadline=$((SECONDS + timeout))
  while true; do
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    if ((SECONDS >= deadline)); then
      e2e_log "timed out after ${timeout}s waiting for: $*"
      return 1
    fi
    sleep 0.2
  done
}

# e2e_checked_transfer BYTES FROM_NETNS TO_NETNS TO_IP [PORT] [-6]: moves BYTES random bytes over
# TCP with nc from a client in FROM_NETNS to a listener in TO_NETNS (netns names the test created)
# and fails the test unless they arrive intact (sha256).
e2e_checked_transfer() {
  local bytes=$1 from=$2 to=$3 ip=$4 port=${5:-5001} fam=${6:-}
  local blob=$E2E_TMP/xfer-sent got=$E2E_TMP/xfer-received
  head -c "$bytes" /dev/urandom >"$blob"
  rm -f "$got"
  # shellcheck disable=SC2016
  # NB: bounded: a stalled transfer (the sender gave up) must fail the test, not hang it.
  nsenter --net="/run/netns/$to" -- timeout 120 bash -c 'nc $3 -l -p "$1" >"$2"' _ "$port" "$got" "$fam" &
  E2E_PIDS+=("$!")
  local rpid=$!
  sleep 0.5
  # shellcheck disable=SC2086
  nsenter --net="/run/netns/$from" -- timeout 60 nc $fam -N -w 10 "$ip" "$port" <"$blob" ||
    e2e_fail "nc transfer $from -> $to ($ip) failed"
  wait "$rpid" || true
  [[ $(sha256sum <"$got" | cut -d' ' -f1) == $(sha256sum <"$blob" | cut -d' ' -f1) ]] ||
    e2e_fail "the $bytes-byte transfer $from -> $to ($ip) arrived damaged ($(stat -c %s "$got") bytes)"
}

e2e_fail() {
  echo "FAIL: $E2E_NAME: $*" >&"$E2E_STDERR"
  exit 1
}

e2e_pass() {
  echo "PASS: $E2E_NAME"
  exit 0
}

# Kills PID if it is alive: TERM, up to 5 s, then KILL.
e2e_kill_pid() {
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    # Our own exited-but-unreaped children are zombies: gone for our purposes.
    [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == Z ]] && return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

# EXIT trap: stop what we started, delete what we created, keep the exit status.
e2e_cleanup() {
  local rc=$?
  [[ -z $E2E_CLEANED ]] || return 0
  E2E_CLEANED=1
  set +e
  local host pid ns i hook
  for hook in "${E2E_CLEANUP_HOOKS[@]}"; do
    "$hook"
  done
  e2e_stop_dockerds
  # weavers started through `weave launch` in our hosts' state dirs.
  for host in "${E2E_HOSTS[@]}"; do
    local pidfile
    pidfile=$(e2e_state_dir "$host")/weaver.pid
    if [[ -r $pidfile ]] && read -r pid <"$pidfile" && [[ $pid =~ ^[0-9]+$ ]] &&
      [[ $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) == *weaver* ]]; then
      e2e_kill_pid "$pid"
    fi
  done
  for pid in "${E2E_PIDS[@]}"; do
    e2e_kill_pid "$pid"
  done
  for ((i = ${#E2E_NETNS[@]} - 1; i >= 0; i--)); do
    ns=${E2E_NETNS[i]}
    ip netns del "$ns" 2>/dev/null || e2e_log "could not delete netns $ns"
  done
  if [[ -n $E2E_TMP && -d $E2E_TMP ]]; then
    if [[ $rc -ne 0 && $rc -ne 77 ]] || [[ -n ${E2E_KEEP:-} ]]; then
      e2e_log "logs kept in $E2E_TMP"
    else
      rm -rf "$E2E_TMP"
    fi
  fi
  exit "$rc"
}
