#!/usr/bin/env python3
"""Instructions per call for every approach and method, counted by
valgrind's callgrind: each pair is run with N and 2N calls, and the
difference divided by N is what one call costs, free of timer noise and of
whatever else runs on the machine.

    cd bench && python3 instructions.py [N]

Needs valgrind; builds `examples/probe.rs` first.
"""
import re
import subprocess
import sys

N = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
APPROACHES = ["baseline", "c_abi", "c_abi_string", "abi_stable",
              "abi_stable_string", "stabby",
              "ours", "ours_try", "ours_manager", "ours_inline_slot",
              "ours_shared", "ours_shared_manager"]
METHODS = ["add", "greet", "sum"]

subprocess.run(["cargo", "build", "--release", "--example", "probe"], check=True)


def collected(approach, method, calls):
    run = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         "target/release/examples/probe", approach, method, str(calls)],
        capture_output=True, text=True, check=True)
    match = re.search(r"Collected : (\d+)", run.stderr)
    return int(match.group(1))


print(f"instructions per call (callgrind, ({2 * N} calls - {N} calls) / {N})\n")
print("| approach | " + " | ".join(METHODS) + " |")
print("|---|" + "---:|" * len(METHODS))
for approach in APPROACHES:
    cells = []
    for method in METHODS:
        if approach in ("c_abi_string", "abi_stable_string") and method != "greet":
            cells.append("–")
            continue
        one, two = collected(approach, method, N), collected(approach, method, 2 * N)
        cells.append(f"{(two - one) / N:.1f}")
    print(f"| {approach} | " + " | ".join(cells) + " |", flush=True)
