#!/bin/sh
# stages.sh - the shell's (and make's) reader of stages/stages.txt.
#
# Sourced by mk/work.sh for its functions; run by mk/stages.mk as
#   stages.sh table        one word per stage: number:folder:expects:instructions
#   stages.sh title N      stage N's title
#   stages.sh before N     the stage before N (nothing for the first)
#   stages.sh after N      the stage after N (nothing for the last)
#   stages.sh checked-as N what make work FROM=N is checked as: the stage
#                          after N, or N itself for the last (its open row)
# Python has the other reader, stages/stages.py; nothing else parses the file.

STAGES_FILE=${STAGES_FILE:-$(dirname "$0")/stages.txt}

# stage_rows: the stages' lines: not the comments, the blank lines or the
# open exercise's row (its first column is not a number).
stage_rows() { awk '!/^#/ && $1 ~ /^[0-9]+$/' "$STAGES_FILE"; }

# stage_field N COLUMN: one column of stage N's row (folder is 2, expects
# 3, instructions 4); nothing when there is no stage N.
stage_field() { stage_rows | awk -v n="$1" -v column="$2" '$1 == n { print $column }'; }

# stage_folder N, stage_title N (the rest of the row after its fourth column).
stage_folder() { stage_field "$1" 2; }
stage_title() { stage_rows | awk -v n="$1" '$1 == n { $1 = $2 = $3 = $4 = ""; sub(/^ +/, ""); print }'; }

# stage_list: the numbers, on one line. next_stage N and previous_stage N:
# the one after N and the one before it, or nothing.
stage_list() { stage_rows | awk '{ printf "%s%s", sep, $1; sep = " " }'; }
next_stage() { stage_rows | awk -v n="$1" 'found { print $1; exit } $1 == n { found = 1 }'; }
previous_stage() { stage_rows | awk -v n="$1" '$1 == n { print before; exit } { before = $1 }'; }
# checked_as N: the stage make work FROM=N is checked as (the row after
# N; after the last, the last itself, with the open row's claim).
checked_as() { [ -n "$(stage_folder "$1")" ] && { next_stage "$1" | grep . || echo "$1"; }; }

case ${0##*/} in
stages.sh)
    case ${1:-} in
    table) stage_rows | awk '{ print $1 ":" $2 ":" $3 ":" $4 }' ;;
    title) stage_title "${2:?usage: stages.sh title N}" ;;
    before) previous_stage "${2:?usage: stages.sh before N}" ;;
    after) next_stage "${2:?usage: stages.sh after N}" ;;
    checked-as) checked_as "${2:?usage: stages.sh checked-as N}" ;;
    *) echo "usage: stages.sh table | title N | before N | after N | checked-as N" >&2; exit 2 ;;
    esac ;;
esac
