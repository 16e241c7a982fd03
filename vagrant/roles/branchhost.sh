#!/usr/bin/env bash
# A computer on the branch's LAN: reaches headquarters through the branch router, over
# whichever link the backhaul agent has made active.
ROLE=branchhost
. "$(dirname "$0")/common.sh"
reach_hq() { busybox ping -c 1 -W 1 "$OASIS_LAB_HQ"; }
wait_until 20 "answer from headquarters ($OASIS_LAB_HQ) through the branch" reach_hq
say "smoke: headquarters answers through the branch router"
