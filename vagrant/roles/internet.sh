#!/usr/bin/env bash
# "The internet": a web server answering the OS captive-portal probes and any other page.
ROLE=internet
. "$(dirname "$0")/common.sh"
cd "$OASIS_LAB_REPO"
start internet "" env PYTHONPATH="$OASIS_LAB_REPO" "$PYTHON" -m tests.lab.portal_lab internet \
  --bind 0.0.0.0
wait_until 20 "web server on $OASIS_LAB_INTERNET:80" tcp_open "$OASIS_LAB_INTERNET" 80
say "smoke: serving on $OASIS_LAB_INTERNET:80"
