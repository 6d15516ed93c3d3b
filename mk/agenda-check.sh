#!/usr/bin/env bash
# agenda-check.sh OUTDIR RUNS - every command teach/agenda.md has the room
# run, in its order, timed and measured for width (make agenda-check,
# maintainers; after make test, as the room is after set-up).
#
# Each command runs RUNS times on a quiet machine, then RUNS times with
# every CPU kept busy by a loop of the shell's (a laptop in a room is
# rarely idle). The workspace's commands run as an attendee's would: make
# work FROM=N, then make work test on the reference change (touched, so
# that it is compiled again, as after an edit). Writes OUTDIR/times.md,
# the median and the range of each, and OUTDIR/wide.txt, every line
# longer than 100 columns; exits 1 when there is one: the agenda's
# commands must fit a laptop's terminal, or a projector. ONLY (a regular
# expression) keeps the commands it matches: make agenda-check ONLY=web.
set -uo pipefail

outdir=${1:?usage: agenda-check.sh OUTDIR RUNS}
runs=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
: >"$outdir/wide.txt"
STAGES_FILE=$here/../stages/stages.txt
. "$here/../stages/stages.sh"

# The commands of the schedules' rows, in the agenda's order: each once, but the workspace's,
# which follow each make work FROM=N. make run serves until stopped, and
# make test is timed on a fresh clone (the README says so): not here.
mapfile -t commands < <(grep -E '^\| [0-9]+:[0-9]+ \|' "$here/../teach/agenda.md" | grep -o '`make [^`]*`' | tr -d '`' \
    | awk '/^make work/ || !seen[$0]++' | grep -vx 'make run' | grep -vx 'make test' \
    | grep -E -- "${ONLY:-.}")

# prepare COMMAND: what must hold before COMMAND runs, as in the room.
prepare() {
    case $1 in
    "make work test"|"make work cmp"|"make work race"|"make work instr"|"make flamediff OLD="*" NEW=work")
        from=$(cat work/FROM)
        next=$(checked_as "$from")
        if [ "$next" != "$from" ]; then
            cp "stages/$(stage_folder "$next")/hi.c" work/hi.c
        fi
        touch work/hi.c ;;
    "make challenge test"|"make challenge hint"|"make challenge solution")
        [ -f work/challenge/hi.c ] || make --no-print-directory challenge >/dev/null ;;
    esac
}

# busy N: starts N loops that keep a CPU each busy; prints their PIDs.
busy() {
    for _ in $(seq "$1"); do
        sh -c 'while :; do :; done' >/dev/null 2>&1 &
        echo $!
    done
}

# time_runs COMMAND LABEL: runs COMMAND RUNS times; prints the seconds of each.
time_runs() {
    local command=$1 label=$2 log start end
    for run in $(seq "$runs"); do
        prepare "$command"
        log=$outdir/$(echo "$command" | tr ' =/' '___')-$label-$run.log
        start=$(date +%s.%N)
        # make ... web serves until stopped: timed to the moment it serves.
        case $command in
        *" web"|*" web "*|*webdiff*) WEB_RECORD_ONLY=1 bash -c "$command" >"$log" 2>&1 ;;
        *) bash -c "$command" >"$log" 2>&1 ;;
        esac
        end=$(date +%s.%N)
        awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f\n", e - s }'
        awk -v file="$log" -v command="$command" 'length($0) > 100 {
            printf "%s (%d columns): %s\n", command, length($0), $0 }' "$log" >>"$outdir/wide.txt"
    done
}

# spread SECONDS...: "median (min to max)".
spread() {
    printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END {
        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.1f s (%.1f to %.1f)", m, v[1], v[NR] }'
}

{
    echo "| command | quiet machine | all $(nproc) CPUs busy |"
    echo "|---|---:|---:|"
} >"$outdir/times.md"
for command in "${commands[@]}"; do
    mapfile -t quiet < <(time_runs "$command" quiet)
    mapfile -t pids < <(busy "$(nproc)")
    mapfile -t loaded < <(time_runs "$command" busy)
    kill "${pids[@]}" 2>/dev/null
    wait "${pids[@]}" 2>/dev/null
    echo "| \`$command\` | $(spread "${quiet[@]}") | $(spread "${loaded[@]}") |" | tee -a "$outdir/times.md"
done
echo "times: $outdir/times.md ($runs runs each, on $(nproc) CPUs)"
if [ -s "$outdir/wide.txt" ]; then
    echo "FAIL: $(wc -l <"$outdir/wide.txt") lines wider than 100 columns ($outdir/wide.txt):"
    cut -c1-160 "$outdir/wide.txt" | head -20
    exit 1
fi
echo "PASS: every line every command printed fits in 100 columns"
