#!/usr/bin/env bash
# Coverage-guided fuzzing of every target (src/fuzz.rs) with cargo-fuzz,
# each for SECS seconds (default 600), two at a time; the corpus grows in
# testdata/fuzz/<target>/ and is merged down afterwards (commit it).
# Needs a nightly toolchain and `cargo install cargo-fuzz`; not part of CI
# (tests/fuzz.rs replays the corpus on stable).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${SECS:-600}
TARGETS=${TARGETS:-"timestamp header postfix exim readers journal scanner trace"}
JOBS=${JOBS:-2}
fuzz() { local sub=$1; shift; cargo +nightly fuzz "$sub" --fuzz-dir scripts/fuzz -s none -O "$@"; }
fuzz build
mkdir -p target/fuzz-logs
for t in $TARGETS; do
    mkdir -p "testdata/fuzz/$t"
    echo "$t: ${SECS}s"
    fuzz run "$t" "testdata/fuzz/$t" -- -max_total_time="$SECS" -max_len=65536 \
        -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
        > "target/fuzz-logs/$t.log" 2>&1 &
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do sleep 5; done
done
wait
for t in $TARGETS; do
    echo "== $t"; grep -E "stat::number_of_executed_units|stat::new_units_added|DONE|ERROR|panicked" "target/fuzz-logs/$t.log" | tail -4
    # Keep what the repo can carry: the inputs of at most 1 KiB that cover
    # every edge the run reached (libFuzzer's merge without hit counters;
    # about 0.8 MB for all six targets), plus the hand-written seeds.
    kept=target/fuzz-logs/$t.kept; rm -rf "$kept"; mkdir -p "$kept"
    fuzz run "$t" "$kept" "testdata/fuzz/$t" -- -merge=1 -max_len=1024 -use_counters=0 \
        > "target/fuzz-logs/$t.merge.log" 2>&1
    find "testdata/fuzz/$t" -type f ! -name 'seed-*' ! -name 'form-*' ! -name 'log-*' ! -name 'journal-mix' -delete
    cp "$kept"/* "testdata/fuzz/$t/"
    grep -E "MERGE-OUTER: [0-9]+ new files" "target/fuzz-logs/$t.merge.log" || true
done
