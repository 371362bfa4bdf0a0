#!/usr/bin/env bash
# 206 with a password: a-b seal each frame with the negotiated AEAD (AES-256-GCM with AES-NI,
# else ChaCha20-Poly1305), c keeps the Weave NaCl sleeve.
export E2E_PASSWORD='x secret' E2E_NAME_OVERRIDE=extended_overlay_enc_3
exec bash "$(dirname "${BASH_SOURCE[0]}")/206_extended_overlay_3_test.sh"
