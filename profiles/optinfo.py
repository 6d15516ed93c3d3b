#!/usr/bin/python3
"""optinfo.py OUTDIR HANDLER-SOURCE -- CC FLAGS... SOURCES... : the compiler's own report.

Go has `go build -gcflags=-m` to say what the compiler inlined and what
escaped to the heap. gcc says which calls it did not inline, and why, with
-fopt-info-inline-missed (clang: -Rpass-missed=inline). This builds the
benchmark that way, linked, so that with OPTIMIZE="-O2 -flto" the link-time
inliner reports too, and keeps the calls made by the request path's own
functions: the handler's (HANDLER-SOURCE) and those of router.c, query.c
and response.c. "function body not available" there means the callee is in
another file, which only link-time optimization lets the compiler see, or
in a shared library, which nothing does.
"""
import os
import re
import subprocess
import sys

REQUEST_PATH_FILES = ["common/router.c", "common/query.c", "common/response.c"]
NOT_REQUEST_PATH = {"hi_init", "hi_shutdown", "free_thread_match"}


def fail(message):
    """Prints message and exits with status 1."""
    print(f"optinfo: {message}", file=sys.stderr)
    sys.exit(1)


def defined_functions(path):
    """Returns the names of the functions a C file defines."""
    with open(path) as file:
        return set(re.findall(r"^[a-z][\w \t\*]*?\b(\w+)\(", file.read(), re.M))


def plain(name):
    """Returns a function name without gcc's clone suffixes and node ids:
    "hi_handle.constprop/326" -> "hi_handle"."""
    return re.sub(r"[./].*$", "", name.strip())


def main(argv):
    if len(argv) < 6 or argv[3] != "--":
        fail("usage: optinfo.py OUTDIR HANDLER-SOURCE -- CC FLAGS... SOURCES...")
    outdir, handler_source, command = argv[1], argv[2], argv[4:]
    os.makedirs(outdir, exist_ok=True)
    done = subprocess.run(["sh", "-c", "echo | \"$0\" -dM -E -", command[0]], capture_output=True, text=True)
    clang = "__clang__" in done.stdout
    report = ["-Rpass-missed=inline"] if clang else ["-fopt-info-inline-missed"]
    done = subprocess.run(command + report + ["-o", os.path.join(outdir, "bench")],
                          capture_output=True, text=True)
    with open(os.path.join(outdir, "all.txt"), "w") as file:
        file.write(done.stdout + done.stderr)
    if done.returncode != 0:
        fail(f"the build failed:\n{done.stderr}")
    ours = defined_functions(handler_source)
    for path in REQUEST_PATH_FILES:
        ours |= defined_functions(path)
    ours -= NOT_REQUEST_PATH
    missed = set()
    for line in done.stderr.splitlines():
        if "will not early inline" in line:   # gcc's early inliner defers to the later one
            continue
        gcc = re.search(r"not inlinable: (\S+) -> (\S+), (.*)$", line)
        clang_remark = re.search(r"'(\w+)' not inlined into '(\w+)' because (.*?)( \[-R.*)?$", line)
        if gcc:
            caller, callee, why = plain(gcc[1]), plain(gcc[2]), gcc[3]
        elif clang_remark:
            callee, caller, why = clang_remark[1], clang_remark[2], clang_remark[3]
        else:
            continue
        # gcc reports the atomic builtins as calls it could not inline,
        # though each becomes an instruction or two (lock xadd): no call.
        if caller in ours and not callee.startswith(("__atomic_", "__sync_", "__builtin_")):
            missed.add((caller, callee, why.replace("--param ", "")))
    flags = " ".join(flag for flag in command if flag.startswith("-O") or flag == "-flto")
    print(f"calls of the request path that the compiler did not inline "
          f"({'clang -Rpass-missed=inline' if clang else 'gcc -fopt-info-inline-missed'}, {flags}):")
    if not missed and clang:
        print("  none: clang inlined every call whose body it could see (it does not report"
              " calls into other files or libraries)")
    elif not missed:
        print("  none: every call the request path makes was inlined, or goes through a pointer")
    for caller, callee, why in sorted(missed, key=lambda m: (m[1] not in ours, m)):
        unseen = "available" in why
        where = ("ours, in another file" if callee in ours and unseen
                 else "a library's" if unseen else "")
        print(f"  {caller} -> {callee}: {why}{f'  ({where})' if where else ''}")
    print("  (a function of ours whose body is \"not available\" sits in another .c file: only")
    print("   link-time optimization can inline it; try OPTIMIZE=\"-O2 -flto\")")
    print(f"wrote: {os.path.join(outdir, 'all.txt')} (every report, set-up code included)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
