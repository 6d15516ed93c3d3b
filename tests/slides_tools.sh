# slides_tools.sh - sourced by the scripts that drive the deck in Chromium.
#
# slides_tools ROOT: sets browser to the Chromium to drive ($CHROMIUM,
# else Debian's binary, else its wrapper, else any on PATH) and returns 0
# when the slides check can run here. Otherwise sets missing to what is
# not installed and install to the command that installs it, and returns
# 1, so that the caller can report its test as skipped, with the reason.

slides_tools() {
    local root=$1 candidate
    browser=${CHROMIUM:-}
    for candidate in /usr/lib/chromium/chromium /usr/bin/chromium; do
        if [ -z "$browser" ] && [ -x "$candidate" ]; then browser=$candidate; fi
    done
    [ -n "$browser" ] || browser=$(command -v chromium || command -v chromium-browser || true)
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
