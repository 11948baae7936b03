#!/usr/bin/env python3
"""Turns the criterion results of `cargo bench --bench sse`,
`cargo bench --bench peers` and `cargo bench --bench typed`
(target/criterion/) into the Markdown tables of BENCHMARKS.md. Figures use each benchmark's median time.

    python3 benches/report.py [target/criterion] > /tmp/tables.md
"""
import json
import os
import sys
from collections import defaultdict

root = sys.argv[1] if len(sys.argv) > 1 else "target/criterion"
MIB = 1024 * 1024

results = {}  # full_id -> (median ns, throughput dict)
for dirpath, _, files in os.walk(root):
    if "benchmark.json" in files and os.path.basename(dirpath) == "new":
        meta = json.load(open(os.path.join(dirpath, "benchmark.json")))
        est = json.load(open(os.path.join(dirpath, "estimates.json")))
        results[meta["full_id"]] = (est["median"]["point_estimate"], meta["throughput"] or {})


def rate(full_id):
    """(MiB/s or None, elements/s or None) of one benchmark."""
    if full_id not in results:
        return None, None
    ns, thr = results[full_id]
    seconds = ns / 1e9
    mib = thr["Bytes"] / seconds / MIB if "Bytes" in thr else None
    elements = thr["Elements"] / seconds if "Elements" in thr else None
    return mib, elements


def fmt_rate(x, unit=""):
    if x is None:
        return "–"
    if x >= 1e6 and unit == "ev":
        return f"{x / 1e6:.2f} M"
    if unit == "ev":
        return f"{x / 1e3:.1f} k"
    return f"{x:,.0f}"


CORPORA = ["deltas", "large", "multiline", "crlf", "comments"]
CHUNKINGS = ["read4k", "read64k", "per-write"]

# The SSE layer alone.
print("### The SSE layer (`benches/sse.rs`)\n")
print("| corpus | path | reads | MiB/s | events/s |")
print("|---|---|---|---:|---:|")
for corpus in CORPORA:
    for path in ["codec", "chunk"]:
        for chunking in CHUNKINGS:
            mib, _ = rate(f"sse-bytes/{corpus}/{path}/{chunking}")
            _, ev = rate(f"sse-events/{corpus}/{path}/{chunking}")
            if mib is None and ev is None:
                continue
            print(f"| {corpus} | {path} | {chunking} | {fmt_rate(mib)} | {fmt_rate(ev, 'ev')} |")

print("\n### Byte at a time against the whole buffer (`sse-linear`)\n")
print("| path | size | whole MiB/s | byte-at-a-time MiB/s | slowdown |")
print("|---|---|---:|---:|---:|")
for path in ["codec", "chunk"]:
    for size in ["256KiB", "1024KiB"]:
        whole, _ = rate(f"sse-linear/{path}-whole/{size}")
        bytewise, _ = rate(f"sse-linear/{path}-bytewise/{size}")
        if whole and bytewise:
            print(f"| {path} | {size} | {whole:,.0f} | {bytewise:,.1f} | {whole / bytewise:.1f}× |")

# Peers.
DECODERS = ["agent37-stream", "agent37-codec", "sse-stream", "sseer", "eventsource-stream", "sse-codec"]
print("\n### Beside the peers (`benches/peers.rs`), MiB/s\n")
print("`agent37-stream` is `EventStream` (chunk path), `agent37-codec` the codec in `FramedRead`.")
print("The last columns: `agent37-stream` over `sse-stream`, and over the `memchr2` scan plus UTF-8 check (the floor of a validating decoder).\n")
CEILINGS = ["memchr2-scan", "memchr2+utf8", "fused-avx2", "memcpy"]
head = " | ".join(DECODERS + CEILINGS)
print(f"| corpus | chunks | {head} | ÷ sse-stream | ÷ memchr2+utf8 |")
print("|---|---|" + "---:|" * (len(DECODERS) + len(CEILINGS) + 2))
for corpus in CORPORA:
    for chunking in CHUNKINGS:
        row = {}
        for name in DECODERS + CEILINGS:
            row[name], _ = rate(f"peers-bytes/{corpus}/{chunking}/{name}")
        if all(v is None for v in row.values()):
            continue
        cells = " | ".join(fmt_rate(row[n]) for n in DECODERS + CEILINGS)
        ours, peer, scan = row["agent37-stream"], row["sse-stream"], row["memchr2+utf8"]
        vs_peer = f"{ours / peer:.2f}×" if ours and peer else "–"
        vs_scan = f"{ours / scan:.2f}" if ours and scan else "–"
        print(f"| {corpus} | {chunking} | {cells} | {vs_peer} | {vs_scan} |")

print("\n### Beside the peers, deltas in events/s\n")
print(f"| chunks | {' | '.join(DECODERS)} | agent37-stream ÷ sse-stream |")
print("|---|" + "---:|" * (len(DECODERS) + 1))
for chunking in CHUNKINGS:
    row = {n: rate(f"peers-events/deltas/{chunking}/{n}")[1] for n in DECODERS}
    if all(v is None for v in row.values()):
        continue
    cells = " | ".join(fmt_rate(row[n], "ev") for n in DECODERS)
    ours, peer = row["agent37-stream"], row["sse-stream"]
    ratio = f"{ours / peer:.2f}×" if ours and peer else "–"
    print(f"| {chunking} | {cells} | {ratio} |")

# The typed layer beside the peers' users.
CLIENTS = ["sse-stream+serde", "eventsource-stream+serde", "agent37-typed", "agent37-response-stream"]
print("\n### Typed events on an agent turn (`benches/typed.rs`), events/s\n")
print("The baseline is `sse-stream` + `serde_json` into owned structs, the text folded by hand.\n")
print(f"| chunks | {' | '.join(CLIENTS)} | typed ÷ baseline | response-stream ÷ baseline |")
print("|---|" + "---:|" * (len(CLIENTS) + 2))
for chunking in ["per-write", "read4k"]:
    row = {n: rate(f"typed-events/turn/{chunking}/{n}")[1] for n in CLIENTS}
    if all(v is None for v in row.values()):
        continue
    cells = " | ".join(fmt_rate(row[n], "ev") for n in CLIENTS)
    base = row["sse-stream+serde"]
    ratios = [
        f"{row[n] / base:.2f}×" if row[n] and base else "–"
        for n in ["agent37-typed", "agent37-response-stream"]
    ]
    print(f"| {chunking} | {cells} | {' | '.join(ratios)} |")
