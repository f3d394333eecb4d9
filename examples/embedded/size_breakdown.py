#!/usr/bin/env python3
"""Who owns the firmware's .text: wscore, its dependencies, the demo.

With LTO most functions are inlined into a few big ones, so symbol sizes say
little. This attributes every instruction instead, through the debug info's
inlining chain: to the innermost frame whose source is wscore, one of its
dependencies or this example; code from core or compiler_builtins inlined
into wscore counts as wscore's, and only what stays out of line (memcpy,
core::fmt, from_utf8) is reported as shared.

    python3 size_breakdown.py [ELF] [--files]

Needs llvm-symbolizer on PATH (Debian's llvm package, or any LLVM) and
llvm-objdump and llvm-size from rustup's llvm-tools. Optional: build.sh does
not run it.
"""

import collections
import os
import re
import subprocess
import sys

TARGET = "thumbv7em-none-eabihf"


def llvm_tool(name):
    sysroot = subprocess.run(["rustc", "--print", "sysroot"], capture_output=True, text=True,
                             check=True).stdout.strip()
    host = re.search(r"^host: (\S+)$", subprocess.run(["rustc", "-vV"], capture_output=True,
                                                       text=True, check=True).stdout, re.M)[1]
    path = os.path.join(sysroot, "lib", "rustlib", host, "bin", name)
    return path if os.path.exists(path) else name


def owner(path, per_file):
    if "/examples/embedded/src/" in path:
        return "demo and driver (examples/embedded)"
    match = re.search(r"/(src/.*\.rs)", path)
    if match and "/registry/" not in path and "/rustc/" not in path and "/library/" not in path:
        return "wscore " + match[1] if per_file else "wscore"
    for dep in ("httparse", "sha1_smol", "base64", "simdutf8"):
        if f"/{dep}-" in path:
            return f"wscore's dependency {dep}"
    for dep in ("heapless", "embedded-io", "cortex-m-rt", "panic-halt"):
        if f"/{dep}-" in path:
            return f"the demo's dependency {dep}"
    return None


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    per_file = "--files" in sys.argv
    elf = args[0] if args else f"target/{TARGET}/release/firmware"

    sections = subprocess.run([llvm_tool("llvm-size"), "-A", elf], capture_output=True,
                              text=True, check=True).stdout
    text = next(line.split() for line in sections.splitlines() if line.startswith(".text "))
    size, start = int(text[1]), int(text[2])

    disassembly = subprocess.run([llvm_tool("llvm-objdump"), "-d", "--no-show-raw-insn", elf],
                                 capture_output=True, text=True, check=True).stdout
    addresses = sorted({int(m[1], 16) for m in re.finditer(r"^\s*([0-9a-f]+):\s", disassembly,
                                                             re.M)})
    addresses = [a for a in addresses if start <= a < start + size]
    ends = addresses[1:] + [start + size]

    symbolized = subprocess.run(["llvm-symbolizer", "--inlining", "--obj", elf],
                                input="".join(f"{a:#x}\n" for a in addresses),
                                capture_output=True, text=True, check=True).stdout
    blocks = symbolized.strip("\n").split("\n\n")
    assert len(blocks) == len(addresses), "llvm-symbolizer gave one block per address"

    totals = collections.Counter()
    shared = collections.Counter()
    for address, end, block in zip(addresses, ends, blocks):
        lines = block.splitlines()
        frames = lines[1::2]  # function, file:line pairs, innermost first
        who = next((o for o in (owner(f, per_file) for f in frames) if o), None)
        if who is None:
            who = "shared: core, compiler_builtins (memcpy, fmt, ...)"
            shared[lines[0] if lines else "?"] += end - address
        totals[who] += end - address

    for who, n in totals.most_common():
        print(f"{n:8d}  {who}")
    print(f"{sum(totals.values()):8d}  .text of {elf}")
    print("largest shared functions:")
    for function, n in shared.most_common(8):
        print(f"{n:8d}    {function}")


if __name__ == "__main__":
    main()
