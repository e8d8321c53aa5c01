#!/bin/sh
# `v12n oci run` side by side with runc and crun, on one busybox bundle whose
# process is /bin/true, in ONE hyperfine invocation so the figures compare:
#
#   bench/oci-run.sh [--runs N] [--warmup N] [--gap SECONDS] [--rss-runs N]
#                    [--out DIR] [--breakdown] [--write-doc] [V12N_BINARY]
#
# --breakdown  also time the parts of v12n's run (exec, re-exec, namespaces,
#              mounts, state files, cgroups) in a second hyperfine.
# --write-doc  put the tables into docs/performance.md (between the markers).
# --out DIR    where hyperfine's JSON and Markdown go (build/bench).
#
# Root, hyperfine, runc, crun, jq, /usr/bin/time and busybox-static are
# needed.  Timings are printed for a human; nothing here asserts on them.
# See docs/performance.md for the method and how to read the results.
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
runs=150
warmup=10
gap=0.05
rss_runs=10
out=$repo/build/bench
breakdown=0
write_doc=0
v12n=$repo/build/src/v12n

usage() {
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

while [ $# -gt 0 ]; do
    case $1 in
    --runs) runs=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --gap) gap=$2; shift 2 ;;
    --rss-runs) rss_runs=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --breakdown) breakdown=1; shift ;;
    --write-doc) write_doc=1; shift ;;
    -h | --help) usage ;;
    -*) echo "oci-run: unknown option $1" >&2; usage ;;
    *) v12n=$1; shift ;;
    esac
done

die() {
    echo "oci-run: $*" >&2
    exit 1
}

# Everything below runs in a private mount namespace: the tmpfs holding the
# runtimes' state and the read-only bind used by --breakdown vanish with it.
if [ "${OCI_BENCH_IN_NS:-}" != 1 ]; then
    [ "$(id -u)" = 0 ] || die "must run as root (containers with cgroups)"
    for tool in hyperfine runc crun jq unshare /usr/bin/time /bin/busybox; do
        command -v "$tool" >/dev/null || die "$tool is missing (apt-get install hyperfine runc crun jq time busybox-static)"
    done
    [ -x "$v12n" ] || die "$v12n: not an executable (make build)"
    v12n=$(realpath "$v12n")
    mkdir -p "$out"
    out=$(realpath "$out")
    args="--runs $runs --warmup $warmup --gap $gap --rss-runs $rss_runs --out $out"
    [ $breakdown = 1 ] && args="$args --breakdown"
    [ $write_doc = 1 ] && args="$args --write-doc"
    export OCI_BENCH_IN_NS=1
    # shellcheck disable=SC2086 # $args is our own list of words
    exec unshare --mount --propagation private "$0" $args "$v12n"
fi

work=$(mktemp -d /tmp/oci-bench.XXXXXX)
state=$work/state
bundle=$work/bundle
tag=$$
loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)

# Container ids carry our pid: cgroup paths are host-wide, even though the
# state roots are private.
id_v12n=bench-v12n-$tag
id_runc=bench-runc-$tag
id_v12n_nocg=bench-v12n-nocg-$tag
id_crun=bench-crun-$tag
id_v12n_cg2=bench-v12n-cg2-$tag
id_state=bench-state-$tag
cg_probe=

cleanup() {
    set +eu
    for id in "$id_v12n" "$id_v12n_nocg" "$id_state" bd-ro-$tag bd-disk-$tag bd-nonet-$tag bd-nocgmnt-$tag; do
        "$v12n" oci --root "$state/v12n" delete -f "$id" >/dev/null 2>&1
    done
    "$v12n" oci --root "$work/state-disk" delete -f "bd-disk-$tag" >/dev/null 2>&1
    runc --root "$state/runc" delete -f "$id_runc" >/dev/null 2>&1
    in_cgroup2 crun --root "$state/crun" delete -f "$id_crun" >/dev/null 2>&1
    in_cgroup2 "$v12n" oci --root "$state/v12n" delete -f "$id_v12n_cg2" >/dev/null 2>&1
    [ -n "$cg_probe" ] && rmdir "$cg_probe" 2>/dev/null
    umount "$state" "$work/ro/v12n" 2>/dev/null
    # v12n keeps its /v12n parent cgroups (docs/design.md): remove them if left empty.
    for d in /sys/fs/cgroup/*/v12n /sys/fs/cgroup/v12n; do
        [ -d "$d" ] && rmdir "$d" 2>/dev/null
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# crun 1.8 refuses the hybrid layout (v1 controllers + cgroup2 at
# /sys/fs/cgroup/unified) even with --cgroup-manager=disabled: it runs only
# where /sys/fs/cgroup itself is cgroup2, i.e. in a new mount namespace with
# the cgroup2 hierarchy on top.  A bind, not `mount -t cgroup2`: from the
# host's cgroup namespace a fresh cgroup2 mount re-applies the root's flags
# under cgroup_threadgroup_rwsem (Linux 6.18), an RCU grace period that
# would swamp what is measured.
cgroup2_source() {
    if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
        echo /sys/fs/cgroup
    elif [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
        echo /sys/fs/cgroup/unified
    else
        die "no cgroup2 hierarchy: crun cannot run on this host"
    fi
}
cg2_script="mount --bind $(cgroup2_source) /sys/fs/cgroup && exec \"\$0\" \"\$@\""

in_cgroup2() {
    unshare -m sh -c "$cg2_script" "$@"
}

# One hyperfine command string (hyperfine -N splits it like a shell would).
quote() {
    quoted=
    for w in "$@"; do
        quoted="$quoted '$(printf %s "$w" | sed "s/'/'\\\\''/g")'"
    done
    printf %s "${quoted# }"
}

cg2_prefix() {
    quote unshare -m sh -c "$cg2_script"
}

# The prepare step of a command: delete a leftover container, then let the
# host settle for --gap seconds, so every run starts alike (see the doc: on
# cgroup v1 a migration right after another one skips an RCU grace period).
prepare_script() { # NAME DELETE-COMMAND...
    name=$1
    shift
    f=$work/prepare-$name
    {
        echo '#!/bin/sh'
        echo "$(quote "$@") >/dev/null 2>&1"
        echo "sleep $gap"
    } >"$f"
    chmod +x "$f"
    printf %s "$f"
}

make_bundle() {
    "$repo/scripts/mkbundle.sh" "$bundle" "$v12n" >/dev/null
    # /bin/true, and an ociVersion crun 1.8.1 accepts ("unknown version" for
    # 1.2.0); runc and v12n read the same file.
    jq '.process.args = ["/bin/true"] | .ociVersion = "1.0.2"' "$bundle/config.json" \
        >"$bundle/config.json.new"
    mv "$bundle/config.json.new" "$bundle/config.json"
}

# A variant bundle sharing the rootfs: NAME JQ-FILTER
make_variant() {
    mkdir -p "$work/$1"
    jq --arg root "$bundle/rootfs" ".root.path = \$root | $2" "$bundle/config.json" \
        >"$work/$1/config.json"
}

cgroup_layout() {
    if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
        echo "cgroup v2"
    elif [ -d /sys/fs/cgroup/unified ] && [ "$(stat -f -c %T /sys/fs/cgroup/unified)" = cgroup2fs ]; then
        echo "hybrid (v1 controllers, cgroup2 at /sys/fs/cgroup/unified)"
    else
        echo "cgroup v1"
    fi
}

median() {
    sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

# Peak RSS (KiB) over --rss-runs runs: /usr/bin/time reports the largest
# maximum resident set of the runtime's images (v12n re-executes itself once)
# and of the children it reaped, so this is an upper bound for the runtime.
rss_of() { # NAME COMMAND... (prints "median max")
    name=$1
    shift
    i=0
    : >"$work/rss-$name"
    while [ $i -lt "$rss_runs" ]; do
        "$@" >/dev/null 2>&1 || die "$name failed while measuring its RSS: $*"
        cat "$work/rss-$name.one" >>"$work/rss-$name"
        i=$((i + 1))
    done
    printf '%s %s\n' "$(median <"$work/rss-$name")" "$(sort -n "$work/rss-$name" | tail -1)"
}

timed() { # NAME COMMAND...
    name=$1
    shift
    /usr/bin/time -f %M -o "$work/rss-$name.one" "$@"
}

measure_rss() {
    rss_v12n=$(rss_of v12n timed v12n "$v12n" oci --root "$state/v12n" run --bundle "$bundle" "$id_v12n")
    rss_runc=$(rss_of runc timed runc runc --root "$state/runc" run --bundle "$bundle" "$id_runc")
    rss_v12n_nocg=$(rss_of v12n-nocg timed v12n-nocg "$v12n" oci --root "$state/v12n" \
        --cgroup-manager disabled run --bundle "$bundle" "$id_v12n_nocg")
    rss_crun=$(rss_of crun in_cgroup2 /usr/bin/time -f %M -o "$work/rss-crun.one" \
        crun --cgroup-manager=disabled --root "$state/crun" run --bundle "$bundle" "$id_crun")
}

# name|command|prepare, one per line, for hyperfine.
main_commands() {
    p=$(cg2_prefix)
    echo "v12n, cgroupfs|$(quote "$v12n" oci --root "$state/v12n" run --bundle "$bundle" "$id_v12n")|$(prepare_script v12n "$v12n" oci --root "$state/v12n" delete -f "$id_v12n")"
    echo "runc, cgroupfs|$(quote runc --root "$state/runc" run --bundle "$bundle" "$id_runc")|$(prepare_script runc runc --root "$state/runc" delete -f "$id_runc")"
    echo "v12n, no cgroups|$(quote "$v12n" oci --root "$state/v12n" --cgroup-manager disabled run --bundle "$bundle" "$id_v12n_nocg")|$(prepare_script v12n-nocg "$v12n" oci --root "$state/v12n" delete -f "$id_v12n_nocg")"
    echo "crun, no cgroups, in wrapper|$p $(quote crun --cgroup-manager=disabled --root "$state/crun" run --bundle "$bundle" "$id_crun")|$(prepare_script crun "$work/in-cgroup2" crun --root "$state/crun" delete -f "$id_crun")"
    echo "v12n, no cgroups, in wrapper|$p $(quote "$v12n" oci --cgroup-manager disabled --root "$state/v12n" run --bundle "$bundle" "$id_v12n_cg2")|$(prepare_script v12n-cg2 "$work/in-cgroup2" "$v12n" oci --root "$state/v12n" delete -f "$id_v12n_cg2")"
    echo "wrapper alone|$p /bin/true|$(prepare_script wrapper true)"
}

breakdown_setup() {
    # The re-exec is skipped for a binary on a read-only mount.
    mkdir -p "$work/ro" "$work/state-disk"
    : >"$work/ro/v12n"
    mount --bind "$v12n" "$work/ro/v12n"
    mount -o remount,bind,ro "$work/ro/v12n"
    make_variant nonet 'del(.linux.namespaces[] | select(.type == "network"))'
    make_variant nocgmnt 'del(.mounts[] | select(.destination == "/sys/fs/cgroup"))'
    "$v12n" oci --root "$state/v12n" create --bundle "$bundle" "$id_state"
    if [ -d /sys/fs/cgroup/cpu ]; then
        cg_probe=/sys/fs/cgroup/cpu/oci-bench-$tag
    else
        cg_probe=/sys/fs/cgroup/oci-bench-$tag
    fi
    mkdir "$cg_probe"
}

breakdown_commands() {
    run_nocg() { # ID BUNDLE [BINARY] [ROOT]
        quote "${3:-$v12n}" oci --root "${4:-$state/v12n}" --cgroup-manager disabled run --bundle "$2" "$1"
    }
    del() { # ID [ROOT]
        prepare_script "$1" "$v12n" oci --root "${2:-$state/v12n}" delete -f "$1"
    }
    nothing=$(prepare_script nothing true)
    echo "busybox true (static): spawn floor|/bin/busybox true|$nothing"
    echo "v12n version: exec, dynamic linking|$(quote "$v12n" version)|$nothing"
    echo "v12n oci state|$(quote "$v12n" oci --criu x --root "$state/v12n" state "$id_state")|$nothing"
    # Any argument "run" makes v12n re-execute itself; --criu is ignored.
    echo "v12n oci state + re-exec|$(quote "$v12n" oci --criu run --root "$state/v12n" state "$id_state")|$nothing"
    echo "run, no cgroups|$(run_nocg "$id_v12n_nocg" "$bundle")|$(del "$id_v12n_nocg")"
    echo "run, no cgroups, binary on a read-only mount (no re-exec)|$(run_nocg "bd-ro-$tag" "$bundle" "$work/ro/v12n")|$(del "bd-ro-$tag")"
    echo "run, no cgroups, state root on $(stat -f -c %T "$work") (not tmpfs)|$(run_nocg "bd-disk-$tag" "$bundle" "$v12n" "$work/state-disk")|$(del "bd-disk-$tag" "$work/state-disk")"
    echo "run, no cgroups, no network namespace|$(run_nocg "bd-nonet-$tag" "$work/nonet")|$(del "bd-nonet-$tag")"
    echo "run, no cgroups, no /sys/fs/cgroup mount|$(run_nocg "bd-nocgmnt-$tag" "$work/nocgmnt")|$(del "bd-nocgmnt-$tag")"
    echo "run, cgroupfs|$(quote "$v12n" oci --root "$state/v12n" run --bundle "$bundle" "$id_v12n")|$(del "$id_v12n")"
    echo "sh: echo \$\$ > /dev/null|sh -c 'echo \$\$ > /dev/null'|$nothing"
    echo "sh: echo \$\$ > $cg_probe/cgroup.procs|sh -c 'echo \$\$ > $cg_probe/cgroup.procs'|$nothing"
}

# Runs hyperfine over "name|command|prepare" lines; JSON and Markdown out.
run_hyperfine() { # LINES-FILE JSON MARKDOWN
    lines=$1 json=$2 md=$3
    set -- hyperfine -N --warmup "$warmup" --runs "$runs" --export-json "$json" --export-markdown "$md"
    while IFS='|' read -r name cmd prep; do
        set -- "$@" --command-name "$name" --prepare "$prep" "$cmd"
    done <"$lines"
    "$@"
}

# JSON -> "name<TAB>median<TAB>mean<TAB>stddev<TAB>min<TAB>max" in ms.
figures() {
    jq -r '.results[] | [.command, .median, .mean, .stddev, .min, .max]
        | [.[0]] + (.[1:] | map(. * 1000)) | @tsv' "$1"
}

versions() {
    printf 'v12n %s; %s; crun %s; hyperfine %s' \
        "$("$v12n" version | awk '{print $3}')" \
        "$(runc --version | head -1)" \
        "$(crun --version | awk 'NR == 1 {print $3}')" \
        "$(hyperfine --version | awk '{print $2}')"
}

conditions() {
    printf -- '- %s, kernel %s, %s CPUs, %s; state roots on tmpfs, bundle on %s.\n' \
        "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(uname -r)" "$(nproc)" "$(cgroup_layout)" \
        "$(stat -f -c %T "$work")"
    printf -- '- %s.\n' "$(versions)"
    printf -- '- hyperfine -N, %s runs after %s warm-ups per command, %s s pause before each run;' \
        "$runs" "$warmup" "$gap"
    printf ' load average %s at the start, %s at the end (shared machine).\n' \
        "$loadavg_start" "$(cut -d' ' -f1-3 /proc/loadavg)"
}

# The results table and the verdict on the targets, as Markdown.
main_report() { # JSON
    figures "$1" | awk -F'\t' \
        -v rss_v12n="$rss_v12n" -v rss_runc="$rss_runc" -v rss_v12n_nocg="$rss_v12n_nocg" \
        -v rss_crun="$rss_crun" '
    function rss(name) {
        if (name == "v12n, cgroupfs") return rss_v12n
        if (name == "runc, cgroupfs") return rss_runc
        if (name == "v12n, no cgroups") return rss_v12n_nocg
        if (name == "crun, no cgroups, in wrapper") return rss_crun
        return ""
    }
    function verdict(ok) { return ok ? "**met**" : "**not met**" }
    {
        name[NR] = $1; med[$1] = $2
        split(rss($1), r, " ")
        row[NR] = sprintf("| %s | %.2f | %.2f ± %.2f | %.2f – %.2f | %s |", $1, $2, $3, $4, $5, $6,
                          r[1] == "" ? "" : r[1] " / " r[2])
    }
    END {
        print "| command | median ms | mean ± σ ms | min – max ms | RSS KiB, median / peak |"
        print "| --- | ---: | ---: | ---: | ---: |"
        for (i = 1; i <= NR; i++) print row[i]
        v = med["v12n, cgroupfs"]; rc = med["runc, cgroupfs"]; vn = med["v12n, no cgroups"]
        cw = med["crun, no cgroups, in wrapper"]; vw = med["v12n, no cgroups, in wrapper"]
        w = med["wrapper alone"]
        split(rss_v12n, a, " "); split(rss_v12n_nocg, b, " ")
        peak = a[2] > b[2] ? a[2] : b[2]
        print ""
        print "| target | figure | verdict |"
        print "| --- | ---: | --- |"
        printf "| v12n ≤ 0.5 × runc (both cgroupfs) | v12n/runc = %.2f | %s |\n", v / rc, verdict(v <= 0.5 * rc)
        printf "| v12n ≤ crun (both without cgroups, same wrapper) | v12n/crun = %.2f (net of the wrapper: %.2f) | %s |\n", \
            vw / cw, (vw - w) / (cw - w), verdict(vw <= cw)
        printf "| v12n < 10 ms (cgroupfs) | %.2f ms | %s |\n", v, verdict(v < 10)
        printf "| v12n < 10 ms (no cgroups) | %.2f ms | %s |\n", vn, verdict(vn < 10)
        printf "| v12n peak RSS ≤ 2 MiB | %d KiB | %s |\n", peak, verdict(peak <= 2048)
        printf "\ncrun alone, net of the wrapper (%.2f ms): about %.2f ms.\n", w, cw - w
    }'
}

breakdown_report() { # JSON
    figures "$1" | awk -F'\t' '
    { n[NR] = $1; m[NR] = $2; s[NR] = $4 }
    END {
        print "| # | command | median ms | σ ms |"
        print "| ---: | --- | ---: | ---: |"
        for (i = 1; i <= NR; i++) printf "| %d | %s | %.2f | %.2f |\n", i, n[i], m[i], s[i]
        print ""
        print "| contribution | from | ms |"
        print "| --- | --- | ---: |"
        printf "| exec + dynamic linking of v12n | 2 − 1 | %.2f |\n", m[2] - m[1]
        printf "| re-exec (CVE-2019-5736 guard) | 4 − 3 | %.2f |\n", m[4] - m[3]
        printf "| re-exec, within run | 5 − 6 | %.2f |\n", m[5] - m[6]
        printf "| state root on disk instead of tmpfs | 7 − 5 | %.2f |\n", m[7] - m[5]
        printf "| network namespace | 5 − 8 | %.2f |\n", m[5] - m[8]
        printf "| /sys/fs/cgroup mount (hybrid: one mount per hierarchy) | 5 − 9 | %.2f |\n", m[5] - m[9]
        printf "| cgroups (create, limits, move, remove) | 10 − 5 | %.2f |\n", m[10] - m[5]
        printf "| one write to cgroup.procs | 12 − 11 | %.2f |\n", m[12] - m[11]
    }'
}

# Replaces the lines between "<!-- oci-run:KEY begin -->" and its end marker.
write_section() { # KEY FILE
    doc=$repo/docs/performance.md
    grep -q "<!-- oci-run:$1 begin -->" "$doc" || die "$doc: marker <!-- oci-run:$1 begin --> missing"
    awk -v key="$1" -v file="$2" '
        $0 == "<!-- oci-run:" key " begin -->" { print; while ((getline l < file) > 0) print l; skip = 1; next }
        $0 == "<!-- oci-run:" key " end -->" { skip = 0 }
        !skip { print }' "$doc" >"$doc.new"
    mv "$doc.new" "$doc"
}

make_bundle
mkdir -p "$state"
mount -t tmpfs -o mode=0700 oci-bench-state "$state"
printf '#!/bin/sh\nexec %s "$@"\n' "$(cg2_prefix)" >"$work/in-cgroup2"
chmod +x "$work/in-cgroup2"

echo "== peak RSS, $rss_runs runs each" >&2
measure_rss
echo "== timings" >&2
main_commands >"$work/main.lines"
run_hyperfine "$work/main.lines" "$out/oci-run.json" "$out/oci-run.md"

{
    main_report "$out/oci-run.json"
    echo
    conditions
} >"$work/main.report"

if [ $breakdown = 1 ]; then
    echo "== breakdown of v12n's time" >&2
    breakdown_setup
    breakdown_commands >"$work/breakdown.lines"
    run_hyperfine "$work/breakdown.lines" "$out/oci-run-breakdown.json" "$out/oci-run-breakdown.md"
    {
        breakdown_report "$out/oci-run-breakdown.json"
        echo
        conditions
    } >"$work/breakdown.report"
fi

echo
cat "$work/main.report"
[ $breakdown = 1 ] && { echo; cat "$work/breakdown.report"; }
if [ $write_doc = 1 ]; then
    write_section results "$work/main.report"
    [ $breakdown = 1 ] && write_section breakdown "$work/breakdown.report"
    echo "oci-run: wrote docs/performance.md" >&2
fi
