#!/usr/bin/env bash
# The proxy on TCP with --tlsverify (issue 7, "TLS flags as in Weave"): a CA, a server and a
# client certificate made with openssl; the docker CLI with the client certificate runs a
# container through the proxy (hijacked stdin included); a client without a certificate, or
# speaking plain HTTP, is refused and the proxy keeps serving.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init docker_proxy_tls_1
command -v openssl >/dev/null || e2e_skip "needs openssl"

e2e_host a 192.168.77.1/24
e2e_dockerd a 172.30.10.1/24

pki=$E2E_TMP/pki
mkdir -p "$pki"
(
  cd "$pki"
  openssl genrsa -out ca-key.pem 2048 2>/dev/null
  openssl req -x509 -new -key ca-key.pem -days 2 -subj /CN=weft-test-ca -out ca.pem 2>/dev/null
  openssl genrsa -out key.pem 2048 2>/dev/null
  openssl req -new -key key.pem -subj /CN=localhost -out server.csr 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
    -extfile server.ext -out cert.pem 2>/dev/null
  mkdir client
  openssl genrsa -out client/key.pem 2048 2>/dev/null
  openssl req -new -key client/key.pem -subj /CN=client -out client.csr 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\n' >client.ext
  openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
    -extfile client.ext -out client/cert.pem 2>/dev/null
  cp ca.pem client/ca.pem
) || e2e_fail "making certificates"

e2e_weave a --local launch -H tcp://127.0.0.1:12375 --tlsverify --tlscacert "$pki/ca.pem" \
  --tlscert "$pki/cert.pem" --tlskey "$pki/key.pem" >/dev/null || e2e_fail "launch with --tlsverify"
[[ $(e2e_weave a config) == "-H=tcp://127.0.0.1:12375" ]] || e2e_fail "weave config: $(e2e_weave a config)"

tdk() { e2e_run a env DOCKER_HOST=tcp://127.0.0.1:12375 DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$pki/client" docker "$@"; }
out=$(tdk run --rm busybox sh -c 'ip -4 -o addr show ethwe') || e2e_fail "docker over TLS: $out"
[[ $out == *ethwe*10.* ]] || e2e_fail "container not attached through the TLS proxy: $out"
got=$(echo tls-stdin | tdk run -i --rm busybox cat) || e2e_fail "run -i over TLS"
[[ $got == tls-stdin ]] || e2e_fail "run -i over TLS printed '$got'"

# No client certificate: refused. Plain HTTP: refused. Then it still serves.
code=$(e2e_run a curl -s -o /dev/null -w '%{http_code}' --cacert "$pki/ca.pem" https://127.0.0.1:12375/_ping || true)
[[ $code == 000 ]] || e2e_fail "a client without a certificate got HTTP $code"
code=$(e2e_run a curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://127.0.0.1:12375/_ping || true)
[[ $code != 200 ]] || e2e_fail "plain HTTP was served"
code=$(e2e_run a curl -s -o /dev/null -w '%{http_code}' --cacert "$pki/ca.pem" --cert "$pki/client/cert.pem" \
  --key "$pki/client/key.pem" https://127.0.0.1:12375/_ping)
[[ $code == 200 ]] || e2e_fail "curl with the client certificate got $code"
e2e_pass
