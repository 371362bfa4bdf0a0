# shellcheck shell=bash
# tests/e2e/podman_lib.sh: podman as a CNI runtime on e2e hosts. Source after lib.sh and e2e_init.
#
#   e2e_cni_install DIR [BUNDLE] # `weave setup-cni` into DIR/bin and DIR/net.d (from the image's
#                                # plugin bundle BUNDLE if given), plus the standard plugins
#                                # portmap and loopback from containernetworking-plugins
#   e2e_podman_init HOST DIR     # per-host podman state under the temp dir, CNI config from DIR,
#                                # a local busybox image (podman import, no registry)
#   e2e_podman HOST ARGS...      # podman inside HOST's netns
#
# Every container is removed in the EXIT trap (podman rm -f -a), so no conmon outlives the test.

declare -A E2E_PODMAN_DIR=()
declare -A E2E_PODMAN_CNI=()
E2E_PODMAN_HOSTS=()
E2E_CNI_STD=${E2E_CNI_STD:-/usr/lib/cni}

e2e_cni_install() {
  local dir=$1 bundle=${2:-/nonexistent} p
  mkdir -p "$dir/bin" "$dir/net.d"
  WEFT_CNI_BUNDLE=$bundle WEAVE_CNI_PLUGIN_DIR=$dir/bin WEAVE_CNI_CONF_DIR=$dir/net.d WEAVER_BIN=$E2E_WEAVER \
    "$E2E_WEAVE" setup-cni || e2e_fail "weave setup-cni failed"
  for p in portmap loopback; do
    [[ -x $E2E_CNI_STD/$p ]] || e2e_skip "needs $E2E_CNI_STD/$p (containernetworking-plugins)"
    ln -sf "$E2E_CNI_STD/$p" "$dir/bin/$p"
  done
}

e2e_podman_init() {
  local host=$1 cni=$2 d
  command -v podman >/dev/null || e2e_skip "needs podman (scripts/install-deps)"
  command -v runc >/dev/null || e2e_skip "needs runc"
  [[ -x /bin/busybox ]] || e2e_skip "needs busybox-static"
  d=$E2E_TMP/$host/podman
  mkdir -p "$d/tmp"
  cat >"$d/containers.conf" <<EOF2
[network]
network_backend = "cni"
cni_plugin_dirs = ["$cni/bin"]
network_config_dir = "$cni/net.d"
default_network = "weave"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$d/events.log"
runtime = "runc"
tmp_dir = "$d/tmp"
EOF2
  cat >"$d/storage.conf" <<EOF2
[storage]
driver = "vfs"
graphroot = "$d/root"
runroot = "$d/runroot"
EOF2
  E2E_PODMAN_DIR[$host]=$d
  E2E_PODMAN_CNI[$host]=$cni
  E2E_PODMAN_HOSTS+=("$host")
  if ((${#E2E_PODMAN_HOSTS[@]} == 1)); then
    E2E_CLEANUP_HOOKS+=(e2e_podman_cleanup)
  fi
  e2e_busybox_rootfs "$d/bbroot"
  tar -C "$d/bbroot" -c . | e2e_podman "$host" import --change 'ENV PATH=/bin' - localhost/busybox:latest \
    >/dev/null || e2e_fail "podman import busybox on $host"
}

e2e_podman() {
  local host=$1 d
  shift
  d=${E2E_PODMAN_DIR[$host]:?no podman on $host}
  CONTAINERS_CONF=$d/containers.conf CONTAINERS_STORAGE_CONF=$d/storage.conf \
    e2e_run "$host" podman --root "$d/root" --runroot "$d/runroot" --tmpdir "$d/tmp" \
    --runtime runc --storage-driver vfs --cgroup-manager cgroupfs --events-backend file \
    --network-config-dir "${E2E_PODMAN_CNI[$host]}/net.d" "$@"
}

# podman run with the flags these machines need.
e2e_podman_run() {
  local host=$1
  shift
  e2e_podman "$host" run --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 "$@"
}

e2e_podman_cleanup() {
  local host
  for host in "${E2E_PODMAN_HOSTS[@]}"; do
    e2e_podman "$host" rm -f -a -t 0 >/dev/null 2>&1 || e2e_log "podman rm -a failed on $host"
  done
  e2e_umount_tmp
}
