#!/usr/bin/env bash
# Runs every fuzz target for a bounded time, seeded from testdata/.
#
#   FUZZ_SECONDS=60   seconds per target (default 60)
#   FUZZ_TARGETS="sse_decode request"   a subset (default: every target)
#
# Exits non-zero if any target finds a crash, a leak, a timeout or an
# out-of-memory input, after printing each reproducer: its path, its bytes
# in hex and in base64, and the command that replays it.
#
# libFuzzer's progress (thousands of lines a minute) goes to
# fuzz/logs/<target>.log; the output shows each target's final stats in one
# line, and the end of its log when it fails.
#
# cargo fuzz needs nightly compiler flags: the nightly toolchain is used
# when installed, otherwise the stable one with RUSTC_BOOTSTRAP=1 (which
# unlocks those flags on a stable compiler, for this build only).
set -euo pipefail
cd "$(dirname "$0")"

seconds=${FUZZ_SECONDS:-60}
case $seconds in '' | *[!0-9]*) echo "fuzz/ci.sh: FUZZ_SECONDS must be a whole number, not '$seconds'" >&2; exit 2 ;; esac

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz/ci.sh: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

if rustup run nightly rustc --version >/dev/null 2>&1; then
    fuzz=(cargo +nightly fuzz)
else
    echo "fuzz/ci.sh: no nightly toolchain; using the default one with RUSTC_BOOTSTRAP=1"
    export RUSTC_BOOTSTRAP=1
    fuzz=(cargo fuzz)
fi

targets=${FUZZ_TARGETS:-$("${fuzz[@]}" list)}
./seed.sh

mkdir -p logs
if ! "${fuzz[@]}" build >logs/build.log 2>&1; then
    tail -n 60 logs/build.log
    echo "fuzz/ci.sh: building the targets failed (fuzz/logs/build.log)" >&2
    exit 1
fi

# The options for each target: its dictionary and the largest input worth
# trying (the SSE targets get room for a few events past the limits).
options() {
    case $1 in
    sse_* | check_stream | typed_paths) echo "-dict=sse.dict -max_len=16384" ;;
    *) echo "-dict=json.dict -max_len=8192" ;;
    esac
}

show() { # prints one reproducer
    local file=$1 target=$2 size
    size=$(wc -c <"$file")
    echo "---- reproducer: fuzz/$file ($size bytes)"
    echo "hex (first 4096 bytes):"
    head -c 4096 "$file" | od -An -tx1 -v
    echo "base64:"
    base64 -w 76 "$file" | head -c 90000
    echo
    echo "replay: (cd fuzz && cargo +nightly fuzz run $target $file)"
}

stats() { # the final stats of one run, on one line
    local log=$1 done_line
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)
    [[ -n $done_line ]] || done_line=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
    printf '%s |' "${done_line:-no progress line}"
    { grep -E '^stat::' "$log" || true; } | sed 's/^stat:://; s/:[[:space:]]*/=/' | tr '\n' ' '
    echo
}

failed=()
for target in $targets; do
    mkdir -p "artifacts/$target" "corpus/$target"
    before=$(find "artifacts/$target" -type f | sort)
    log="logs/$target.log"
    echo "==== fuzz/ci.sh: $target for ${seconds}s (progress: fuzz/$log)"
    # shellcheck disable=SC2046 # the options are words on purpose
    if ! "${fuzz[@]}" run "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 $(options "$target") >"$log" 2>&1; then
        failed+=("$target")
        echo "---- the end of fuzz/$log:"
        tail -n 40 "$log"
    fi
    echo "$target: $(stats "$log")"
    after=$(find "artifacts/$target" -type f | sort)
    new=$(comm -13 <(echo "$before") <(echo "$after") | sed '/^$/d')
    for file in $new; do show "$file" "$target"; done
    if [[ -n $new && ! " ${failed[*]} " =~ " $target " ]]; then failed+=("$target"); fi
done

if ((${#failed[@]} > 0)); then
    echo "fuzz/ci.sh: FAILED: ${failed[*]} (reproducers above)" >&2
    exit 1
fi
echo "fuzz/ci.sh: no crash in $(wc -w <<<"$targets") targets, ${seconds}s each"
