#!/usr/bin/env bash
# 200's sleeve test with the DPDK backend (net_af_packet vdev on vethwe-pcap, EAL --no-huge
# --no-pci) on host a and pcap on host b: ping, iperf3 both ways and a checksummed transfer.
export E2E_BACKEND_A=dpdk E2E_BACKEND_B=pcap
exec bash "$(dirname "${BASH_SOURCE[0]}")/200_sleeve_2_test.sh"
