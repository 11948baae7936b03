#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seeds from testdata/ (never committed:
# fuzz/.gitignore keeps corpus/ out). Safe to run again: seeds are named by
# content, and what the fuzzer has added is left alone.
set -euo pipefail
cd "$(dirname "$0")"
root=..
corpus=corpus

# seed TARGET PREFIX FILE: the prefix bytes (printf escapes), then the
# first 64 KiB of FILE, into the target's corpus, named by content.
seed() {
    local target=$1 prefix=$2 file=$3 dir="$corpus/$1" tmp name
    mkdir -p "$dir"
    tmp=$(mktemp)
    { printf "$prefix"; head -c 65536 "$file"; } >"$tmp"
    name=$(sha1sum "$tmp" | cut -c1-16)
    mv "$tmp" "$dir/seed-$name"
}

streams=()
while IFS= read -r -d '' file; do streams+=("$file"); done < <(
    find "$root/testdata/conformance/real" "$root/testdata/recordings" -name '*.sse' -print0 | sort -z
)

# The conformance vectors: base64 inputs inside a JSON array.
vectors=$(mktemp -d)
trap 'rm -rf "$vectors"' EXIT
if command -v python3 >/dev/null; then
    python3 - "$root/testdata/conformance/sse-vectors.json" "$vectors" <<'PY'
import base64, json, sys
for i, v in enumerate(json.load(open(sys.argv[1]))):
    open(f"{sys.argv[2]}/v{i:03}.sse", "wb").write(base64.b64decode(v["input_b64"]))
PY
    while IFS= read -r -d '' file; do streams+=("$file"); done < <(find "$vectors" -name '*.sse' -print0 | sort -z)
else
    echo "seed.sh: no python3, the conformance vectors are not seeded" >&2
fi

for file in "${streams[@]}"; do
    seed sse_differential "" "$file"
    # sse_decode reads two control bytes first: whole-buffer/default limits,
    # and a small-piece cut with small limits.
    seed sse_decode '\x00\x03' "$file"
    seed sse_decode '\x05\x00' "$file"
    # check_stream: byte 0 the chunking and reconnect point, byte 1 the limits.
    seed check_stream '\x00\x03' "$file"
    seed check_stream '\x07\x03' "$file"
    # typed_paths: byte 0 the chunking, byte 1 the typed decoder's limits
    # and the wrapping (bit 2: reasoning first, bit 3: a response.completed).
    seed typed_paths '\x00\x03' "$file"
    seed typed_paths '\x07\x0c' "$file"
done

# Error bodies (status, Retry-After length or 0xFF for none, body).
errors=$(mktemp -d)
printf '\x01\x90\xff{"error":{"code":"validation_error","message":"input is required","param":"input","hint":"send input"}}' >"$errors/gateway"
printf '\x01\xad\x02%s{"error":{"code":"rate_limited","message":"slow down"}}' 30 >"$errors/rate-limited"
printf '\x01\xad\x1d%s{"error":{"code":"rate_limit_exceeded","message":"slow","status":429,"retryAfter":12}}' 'Wed, 21 Oct 2015 07:28:00 GMT' >"$errors/sdk"
printf '\x01\x92\xff{"error":{"code":"insufficient_balance","message":"top up"}}' >"$errors/billing"
printf '\x01\xf7\xff{"error":{"code":"sandbox_error","message":"down","status":503}}' >"$errors/sandbox"
printf '\x01\xf6\xff<html><body><h1>502 Bad Gateway</h1></body></html>' >"$errors/html"
printf '\x01\xf4\xff{"error":"plain string"}' >"$errors/no-object"
printf '\x01\xf4\xff' >"$errors/empty"
for file in "$errors"/*; do seed error_envelope "" "$file"; done
rm -rf "$errors"

# Request bodies.
requests=$(mktemp -d)
printf '{"input":"hi"}' >"$requests/minimal"
printf '{"input":"hi","session_id":"sess_1","stream":true,"model":"m","provider":"anthropic","reasoning_effort":"high","metadata":{"k":"v","n":1.5e3,"a":[null,true]},"agent":"hermes","mode":"chat","instance_id":"i"}' >"$requests/full"
printf '{"input":"x","mode":"goal"}' >"$requests/goal"
printf '{"input":42}' >"$requests/wrong-type"
printf '[1,2]' >"$requests/not-object"
printf '{"input":"\\u00e9\\ud83d\\ude00","metadata":null,"stream":null}' >"$requests/escapes"
for file in "$requests"/*; do seed request "" "$file"; done
rm -rf "$requests"

# Delta payloads and text bodies, plain and with every kind of escape.
deltas=$(mktemp -d)
printf '{"text":"plain words"}' >"$deltas/plain"
printf '{"text":"a\\n\\"b\\" \\u00e9 \\ud83d\\ude42 \\/\\t"}' >"$deltas/escapes"
printf 'line\\nbreak \\u00E9' >"$deltas/body"
printf '{"text":"\\ud83d"}' >"$deltas/lone-surrogate"
printf '{ "text" : "spaced" }' >"$deltas/spaced"
printf '{"text":"x","extra":1}' >"$deltas/extra"
printf 'the answer \\"quoted\\" caf\\u00e9\n,"usage":{"input_tokens":1,"output_tokens":2}}' >"$deltas/completed"
printf 'answer\n,"usage":null,"output_text":""}' >"$deltas/completed-twice"
for file in "$deltas"/*; do seed delta_fast_path "" "$file"; done
rm -rf "$deltas"

# Delta texts for typed_paths' wrapped stream, split at 0x1E into deltas:
# plain, escaped (well formed or not), breaking the block, and non-UTF-8.
texts=$(mktemp -d)
printf 'plain words\x1ea thought\x1e and more words' >"$texts/plain"
printf 'a\\n\\"b\\" \\u00e9 \\ud83d\\ude42 \\/\\t\x1e\\ud83d\x1e\\x' >"$texts/escapes"
printf 'line\nbreak\x1etwo\n\nevent: x\x1e"quote\x1etab\there' >"$texts/breaks"
printf 'caf\xc3\xa9 \xf0\x9f\x99\x82\x1e\xc3\x1e\xff' >"$texts/utf8"
for file in "$texts"/*; do
    seed typed_paths '\x00\x0b' "$file"
    seed typed_paths '\x05\x0f' "$file"
done
rm -rf "$texts"

for dir in "$corpus"/*/; do
    echo "seed.sh: $(find "$dir" -type f | wc -l) files in $dir"
done
