# shellcheck shell=bash
# tests/e2e/kube_lib.sh: the test Kubernetes API server (tests/kube/fake_apiserver.py) for e2e
# tests. Source it after lib.sh and e2e_init:
#
#   e2e_host api 192.168.77.250/24
#   e2e_kubeapi api                      # TLS API server on api's IP, in api's netns
#   e2e_kube_ctl POST objects '{"kind":"Node","apiVersion":"v1","metadata":{"name":"n1"},...}'
#   e2e_kube_ctl DELETE objects/pods/default/p1
#   e2e_kube_ctl POST expire             # every open watch ends with a 410 ERROR event
#   e2e_kube_get /api/v1/nodes           # an authorised API call (JSON on stdout)
#   env $(e2e_kube_env) weaver-kube ...  # a program that reads the in-cluster configuration
#
# The server's control interface is documented at the top of fake_apiserver.py.

E2E_KUBE_HOST=""  # e2e host running the server
E2E_KUBE_IP=""
E2E_KUBE_PORT=""
E2E_KUBE_DIR=""   # service-account dir: token, ca.crt

# e2e_kubeapi HOST [FIXTURES.json]: starts the server in HOST's netns on HOST's IP.
e2e_kubeapi() {
  local host=$1 fixtures=${2:-} py=python3 i
  [[ -x /usr/bin/python3 ]] && py=/usr/bin/python3
  command -v "$py" >/dev/null || e2e_skip "needs python3 (scripts/install-deps)"
  command -v openssl >/dev/null || e2e_skip "needs openssl"
  E2E_KUBE_HOST=$host
  E2E_KUBE_IP=$(e2e_ip "$host")
  E2E_KUBE_DIR=$E2E_TMP/kubeapi
  mkdir -p "$E2E_KUBE_DIR"
  e2e_bg "$host" kubeapi.log "$py" "$WEFT_SOURCE_DIR/tests/kube/fake_apiserver.py" \
    --dir "$E2E_KUBE_DIR" --listen "$E2E_KUBE_IP:0" ${fixtures:+--fixtures "$fixtures"}
  for ((i = 0; i < 600; i++)); do
    [[ -s $E2E_KUBE_DIR/port ]] && break
    kill -0 "$E2E_LAST_PID" 2>/dev/null || e2e_fail "fake API server died: $(tail -5 "$E2E_TMP/kubeapi.log")"
    sleep 0.1
  done
  [[ -s $E2E_KUBE_DIR/port ]] || e2e_fail "fake API server did not start"
  E2E_KUBE_PORT=$(cat "$E2E_KUBE_DIR/port")
  e2e_log "fake API server on https://$E2E_KUBE_IP:$E2E_KUBE_PORT"
}

# The environment a pod of the DaemonSet would see (KEY=VALUE words).
e2e_kube_env() {
  echo "KUBERNETES_SERVICE_HOST=$E2E_KUBE_IP KUBERNETES_SERVICE_PORT=$E2E_KUBE_PORT WEFT_KUBE_SA_DIR=$E2E_KUBE_DIR"
}

# e2e_kube_ctl METHOD PATH [JSON]: the control interface (/_test/PATH); prints the answer.
e2e_kube_ctl() {
  local method=$1 path=$2 body=${3:-}
  e2e_run "$E2E_KUBE_HOST" curl -sS --fail-with-body --cacert "$E2E_KUBE_DIR/ca.crt" -X "$method" \
    ${body:+-H 'Content-Type: application/json' --data "$body"} \
    "https://$E2E_KUBE_IP:$E2E_KUBE_PORT/_test/$path"
}

# e2e_kube_get PATH: an authorised GET of the API (JSON on stdout).
e2e_kube_get() {
  e2e_run "$E2E_KUBE_HOST" curl -sS --fail-with-body --cacert "$E2E_KUBE_DIR/ca.crt" \
    -H "Authorization: Bearer $(cat "$E2E_KUBE_DIR/token")" "https://$E2E_KUBE_IP:$E2E_KUBE_PORT$1"
}

# e2e_kube_node NAME IP: adds (or replaces) a Node with InternalIP IP.
e2e_kube_node() {
  e2e_kube_ctl POST objects "{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"$1\"},\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"$2\"},{\"type\":\"Hostname\",\"address\":\"$1\"}]}}" >/dev/null
}
