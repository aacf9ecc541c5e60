#!/usr/bin/env python3
"""Copy a cubecl autotune cache with each tuned key switched to its second-fastest kernel.

cubecl picks each kernel by timing the candidates, so two machines (or two runs) can pick
differently where candidates are close, and a kernel that is wrong for some shape shows up on
one machine only. Replaying a test with the runner-up kernels makes those choices here:

    scripts/autotune-alternatives.py crates/train/target/autotune /tmp/alt [FILTER [FIRST LAST]]
    rm -rf crates/train/target/autotune && cp -r /tmp/alt crates/train/target/autotune
    (cd crates/train && ../../target/debug/deps/wgpu_agreement-* --nocapture)

FILTER keeps the switch to cache files whose name contains it (for example
`matmul-tune-base`); FIRST and LAST (0-based, LAST excluded) to those lines of each file, so
that a failing choice can be found by bisection. Keys with one working candidate are copied
unchanged. docs/testing.md tells how this found a wrong matmul kernel on Mesa's llvmpipe.
"""

import json
import os
import sys


def main() -> int:
    if len(sys.argv) not in (3, 4, 6):
        print(__doc__, file=sys.stderr)
        return 2
    source, destination = sys.argv[1], sys.argv[2]
    name_filter = sys.argv[3] if len(sys.argv) > 3 else ""
    first, last = (int(sys.argv[4]), int(sys.argv[5])) if len(sys.argv) == 6 else (0, sys.maxsize)
    if not os.path.isdir(source):
        print(f"{source}: no such autotune cache directory", file=sys.stderr)
        return 1
    switched = 0
    for root, _, files in os.walk(source):
        for name in files:
            source_file = os.path.join(root, name)
            target_file = os.path.join(destination, os.path.relpath(source_file, source))
            os.makedirs(os.path.dirname(target_file), exist_ok=True)
            lines = []
            with open(source_file, encoding="utf-8") as cache:
                for number, line in enumerate(cache):
                    if line.strip() and name_filter in name and first <= number < last:
                        entry = json.loads(line)
                        # Results are sorted fastest first; failed candidates carry "Err".
                        working = [
                            result["outcome"]["Ok"]["index"]
                            for result in entry["value"]["results"]
                            if "Ok" in result["outcome"]
                        ]
                        if len(working) > 1:
                            entry["value"]["fastest_index"] = working[1]
                            switched += 1
                        line = json.dumps(entry) + "\n"
                    lines.append(line)
            with open(target_file, "w", encoding="utf-8") as cache:
                cache.writelines(lines)
    print(f"switched {switched} keys to their second-fastest kernel", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
