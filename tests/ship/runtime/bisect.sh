#!/usr/bin/env bash
# Which Deno after 2.8.3 could Strand move to? For each version given (default 2.9.0 … 2.9.6):
# installs it from npm into its own prefix, copies this commit into its own directory (its own
# node_modules), runs the connection-churn test (tests/e2e/churn_test.ts: graceful closes after
# hundreds of calls, which abort some runtimes' HTTP/2 server) CHURN_RUNS times and the
# stalled-consumer probe (tests/ship/runtime/stalled_h2_probe.ts: does node:http2 stop a writer
# whose client grants no credit). Prints one line per version. Bounded: every run under timeout.
#
#   bash tests/ship/runtime/bisect.sh [VERSION...]     (WORK=/tmp/strand-bisect CHURN_RUNS=3)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
WORK="${WORK:-/tmp/strand-bisect}"
RUNS="${CHURN_RUNS:-3}"
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(2.9.0 2.9.1 2.9.2 2.9.3 2.9.4 2.9.5 2.9.6)
export DENO_NO_UPDATE_CHECK=1 NO_COLOR=1
mkdir -p "$WORK"

for version in "${versions[@]}"; do
  prefix="$WORK/deno-$version"
  deno="$prefix/node_modules/@deno/linux-x64-glibc/deno"
  if [ ! -x "$deno" ]; then
    npm install --silent --prefix "$prefix" "deno@$version" >/dev/null 2>&1 ||
      { echo "$version: cannot install from npm"; continue; }
  fi
  repo="$WORK/repo-$version"
  rm -rf "$repo" && mkdir -p "$repo"
  git archive HEAD | tar -x -C "$repo"
  (cd "$repo" && timeout 300 "$deno" install --frozen >/dev/null 2>&1) ||
    { echo "$version: deno install --frozen failed"; continue; }
  churn=()
  for ((run = 1; run <= RUNS; run++)); do
    log="$WORK/churn-$version-$run.log"
    (cd "$repo" && timeout 240 "$deno" test -A --no-check tests/e2e/churn_test.ts >"$log" 2>&1)
    code=$?
    if [ $code -eq 0 ]; then churn+=(pass); else churn+=("FAIL($code)"); fi
  done
  probe=$(cd "$repo" && timeout 120 "$deno" run -A --no-check tests/ship/runtime/stalled_h2_probe.ts 2>&1 | tail -n 1)
  echo "$version: churn ${churn[*]} | stalled consumer $probe"
done
