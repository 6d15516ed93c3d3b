# slides_tools.sh - sourced by the scripts that drive Chromium: the slides
# checks, and perf.sh for its flame graph pictures.
#
# find_chromium: prints the Chromium to drive ($CHROMIUM, else Debian's
# binary, else its wrapper, else any on PATH), or nothing.
#
# slides_tools ROOT: sets browser to find_chromium's answer and returns 0
# when the slides check can run here. Otherwise sets missing to what is
# not installed and install to the command that installs it, and returns
# 1, so that the caller can report its test as skipped, with the reason.

find_chromium() {
    local candidate
    if [ -n "${CHROMIUM:-}" ]; then echo "$CHROMIUM"; return; fi
    for candidate in /usr/lib/chromium/chromium /usr/bin/chromium; do
        if [ -x "$candidate" ]; then echo "$candidate"; return; fi
    done
    command -v chromium || command -v chromium-browser || true
}

slides_tools() {
    local root=$1
    browser=$(find_chromium)
    if [ -z "$browser" ]; then
        missing="Chromium is not installed" install="make deps installs it where it can"
    elif ! command -v node >/dev/null; then
        missing="node is not installed" install="make deps installs it"
    elif [ ! -f "$root/js/node_modules/playwright-core/package.json" ]; then
        missing="playwright-core is not installed in js/node_modules"
        install="make js/node_modules/.installed installs it"
    else
        return 0
    fi
    return 1
}
