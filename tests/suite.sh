#!/usr/bin/env bash
# `make test`: the suite in two parts (see tests/parallel.py and the README, "Tests").
#   1. every test not marked `serial`, on WORKERS processes (pytest-xdist), a test module per
#      unit of work;
#   2. the `serial` tests (they time real packets), one at a time, once part 1 is over;
#   3. the store-backed tests again with the store on PostgreSQL (`--store postgresql`: each
#      on a fresh database of a throwaway cluster per worker, tests/peers_postgres.py).
# Every part always runs; the exit status is the first failing part's (pytest's "no tests
# collected", 5, counts as a failure only when no part found a test).
# Usage: tests/suite.sh WORKERS [PYTEST ARGS...]   (WORKERS 0: part 1 in this process too)
set -u
pytest=${PYTEST:-.venv/bin/pytest}
workers=${1:?usage: tests/suite.sh WORKERS [pytest args...]}
shift

status=0
empty=0
part() {
    echo "+ $pytest $*"
    "$pytest" "$@"
    local code=$?
    if [ "$code" -eq 5 ]; then
        empty=$((empty + 1))
    elif [ "$code" -ne 0 ] && [ "$status" -eq 0 ]; then
        status=$code
    fi
}

part -n "$workers" --dist loadgroup --part parallel "$@"
part --part serial "$@"
part -n "$workers" --dist loadgroup --part parallel --store postgresql "$@"
if [ "$status" -eq 0 ] && [ "$empty" -eq 3 ]; then
    status=5
fi
exit "$status"
