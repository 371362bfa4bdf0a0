#!/usr/bin/env bash
# 200's sleeve test with the AF_PACKET backend on host a and pcap on host b: ping, iperf3 both
# ways and a checksummed transfer across two different capture backends.
export E2E_BACKEND_A=afpacket E2E_BACKEND_B=pcap
exec bash "$(dirname "${BASH_SOURCE[0]}")/200_sleeve_2_test.sh"
