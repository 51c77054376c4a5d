#!/usr/bin/env bash
# Profiles the server during one benchmark scenario and prints where its CPU time goes.
#   bench/profile.sh S1            # perf record -g on the server during a 10-second S1 run
#   bench/profile.sh S3 --quick    # 2-second run, 1M-link S4 store; any bench/run.py option
# Uses perf when it can record here (package linux-perf), else valgrind --tool=callgrind
# on a short run (--profile-tool callgrind forces it). The server is the optimised build
# in build-bench (built here if missing); the recording stays in build-bench/bench-prof.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: bench/profile.sh S1|S2|S3|S4|S5|S6 [bench/run.py options]" >&2; exit 2; }
scenario=$1
shift
if [ ! -x build-bench/actionlinks ]; then
  cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  ninja -C build-bench actionlinks
fi
if ! command -v perf >/dev/null && ! command -v valgrind >/dev/null; then
  echo "need perf (apt-get install linux-perf) or valgrind" >&2
  exit 1
fi
exec python3 bench/run.py --profile "$scenario" "$@"
