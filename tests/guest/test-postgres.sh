#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# test-postgres: the distribution's PostgreSQL 15 with its shared memory
# in msharefs through libmshare-preload.so (examples/postgres). A small
# cluster, the same pgbench runs with the shim and without, and:
#   - the shim serves the postmaster's shared memory, plain runs do not
#     touch msharefs;
#   - backends that read all of the buffers add less page-table memory
#     with the shim, by at least half of what the plain run's tables for
#     those buffers take, and fault less;
#   - pgbench (select-only and the mixed default) reports no error;
#   - kill -9 of a backend: the postmaster reinitialises its shared
#     memory in a new region and serves again, three times over;
#   - after a clean shutdown, and after the restarts, nothing is left:
#     PageTables, shared memory and MemFree back to where they were, no
#     process attached to a region, no region named in the mount;
#   - huge_pages=try starts: with no huge pages, MAP_HUGETLB fails as it
#     would without the shim and PostgreSQL falls back to a 4 KiB region;
#     with huge pages reserved, the shim serves a hugetlb region.
# Skips where PostgreSQL is not installed (the arm64 guest's initramfs
# has no PostgreSQL). meson configures this file into the build tree with
# the source tree's path.
top=@TOP@
build=@BUILD@
PG_SHIM=$build/preload/libmshare-preload.so
PG_CLI=$build/cli/mshare
PG_ROOT=/tmp/test-postgres
. "$top/examples/postgres/pglib.sh"

n=0
failed=0
ok() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=1
	fi
}
check() {
	desc=$1
	shift
	"$@"
	ok $? "$desc"
}
diag() { echo "# $*"; }
bail() {
	echo "Bail out! $*"
	[ -f "$PGDATA/postmaster.pid" ] && pg_stop > /dev/null 2>&1
	# the programs after this one need no huge pages held for them
	echo 0 > /proc/sys/vm/nr_hugepages
	exit 1
}

if [ "$(uname -m)" != x86_64 ]; then
	echo "1..0 # SKIP PostgreSQL runs in the x86_64 guest only (the arm64 initramfs has none)"
	exit 0
fi
why=$(pg_missing)
if [ -n "$why" ]; then
	# make check installs postgresql-15 (tools/install-deps): on x86_64
	# a missing server is the setup's fault, not a reason to skip
	bail "PostgreSQL cannot run: $why"
fi
[ -x "$PG_SHIM" ] || bail "$PG_SHIM is not built"

echo "1..28"
# 128 MB of buffers and 4 scale units of data (67 MB): every table and
# index fits, and a sequential scan of pgbench_accounts (a sum over a
# column no index has: no index-only scan) reads 52 MB of
# buffers (26 page tables' worth) in every backend: by itself, with no
# parallel workers to share the scan.
settings="-c shared_buffers=128MB -c max_connections=100 -c huge_pages=off
	-c shared_memory_type=mmap -c autovacuum=off -c fsync=off
	-c max_parallel_workers_per_gather=0"
clients=12
pg_setup 1G || bail "setup"
pg_initdb || bail "initdb"
pt_base=$(meminfo_kb PageTables) shm_base=$(anon_shmem_kb) free_base=$(free_kb)
pg_start plain $settings || bail "start"
pg_as "$PG_BIN/pgbench" -i -q -s 4 > "$PG_ROOT/init.log" 2>&1 ||
	{ cat "$PG_ROOT/init.log"; bail "pgbench -i"; }
pg_sql "CREATE EXTENSION pg_prewarm" > /dev/null || bail "CREATE EXTENSION pg_prewarm"
pg_stop || bail "stop"
scan=$PG_ROOT/scan.sql
# one scan a backend, then all wait: the peak has every backend's tables
printf 'SELECT sum(abalance) FROM pgbench_accounts;\n\\sleep 8 s\n' > "$scan"
chmod 644 "$scan"

prewarm() {
	pg_sql "SELECT sum(pg_prewarm(c.oid::regclass)) FROM pg_class c
		WHERE c.relname LIKE 'pgbench_%' AND c.relkind IN ('r', 'i')" > /dev/null
}

# run MODE: start, check who serves the memory, prewarm, a scan of every
# buffer in each backend, then select-only and mixed; leaves the scan's
# CSV line in $scan_line. Runs are counted in transactions (-t), not
# seconds: on the debug kernel, opening 12 connections can take longer
# than a timed run would last.
run() {
	mode=$1
	pg_start "$mode" $settings || bail "start ($mode)"
	if [ "$mode" = shim ]; then
		line=$(pg_served)
		ok $? "shim: the postmaster's shared memory is an msharefs attach"
		diag "$line"
	else
		! pg_served > /dev/null
		ok $? "plain: the shared memory is not an msharefs attach"
	fi
	check "$mode: prewarm the tables and indexes" prewarm
	scan_line=$(pg_bench "$mode,scan" $clients -t 1 -f "$scan")
	ok $? "$mode: $clients backends scan pgbench_accounts, no error"
	diag "$scan_line"
	line=$(pg_bench "$mode,select" $clients -t 50 -S)
	ok $? "$mode: pgbench -S, $clients clients, no error"
	diag "$line"
	line=$(pg_bench "$mode,mixed" $clients -t 10)
	ok $? "$mode: pgbench (mixed), $clients clients, no error"
	diag "$line"
}

# after_stop WHAT: memory back, no region left.
after_stop() {
	pt=$(meminfo_kb PageTables) shm=$(anon_shmem_kb)
	diag "$1: PageTables $pt_base -> $pt kB, shared memory outside tmpfs $shm_base -> $shm kB"
	# 128 MB of buffers cannot hide in 4 MB; page tables come back to
	# within a few pages (other processes' come and go)
	[ $((shm - shm_base)) -lt 4096 ] && [ $((pt - pt_base)) -lt 256 ]
	ok $? "$1: PageTables and shared memory are back"
	free=$(free_kb)
	diag "$1: MemFree (tmpfs files counted as free) $free_base -> $free kB"
	# a 128 MB region would stand out; slab and the like move by a few MB
	[ $((free_base - free)) -lt 16384 ]
	ok $? "$1: MemFree is back, to within 16 MB"
	left=$(pg_leftovers)
	ok $? "$1: no process attached to a region, none named in $PG_MNT${left:+ ($left)}"
}

run plain
plain_scan=$scan_line
pg_stop || bail "stop (plain)"
after_stop "plain, after a clean stop"
run shim
shim_scan=$scan_line

# the scan: PageTables added at the peak, and faults, per backend
IFS=, read -r _ _ _ _ _ p_before p_peak p_flt _ <<EOF
$plain_scan
EOF
IFS=, read -r _ _ _ _ _ s_before s_peak s_flt _ <<EOF
$shim_scan
EOF
p_pb=$(((p_peak - p_before) / clients)) s_pb=$(((s_peak - s_before) / clients))
diag "scan: PageTables added per backend: plain $p_pb kB, shim $s_pb kB; minor faults per backend: plain $p_flt, shim $s_flt"
# 52 MB of buffers take 26 PTE tables (104 kB) in each plain backend, and
# none in a sharer; half of that is the bar, for sampling's sake
[ $((p_pb - s_pb)) -ge 52 ]
ok $? "the shim saves at least 52 kB of page tables per scanning backend ($((p_pb - s_pb)) kB)"
# every 4 kB of buffers a plain backend reads is a fault (16 with
# fault-around), a sharer's are linked once
[ "$s_flt" -lt "$p_flt" ]
ok $? "a scanning backend faults less with the shim ($s_flt < $p_flt)"

# crash restarts: kill -9 a backend, three times
restart() {
	restart=$(pg_crash_restart) || return 1
	set -- $restart
	diag "killed backend $1: region $2 -> $3"
	pg_bench shim,after-crash 4 -t 20 -S > /dev/null
}
for i in 1 2 3; do
	check "crash restart $i: the postmaster serves again from a new region" restart
done
[ "$(grep -c 'all server processes terminated; reinitializing' "$PG_LOG")" = 3 ]
ok $? "the server log shows three reinitialisations"
pg_stop || bail "stop (shim)"
after_stop "shim, after three crash restarts and a clean stop"

# huge_pages=try, no huge pages: the shim's hugetlb region cannot be
# made, the real MAP_HUGETLB fails likewise, PostgreSQL falls back to a
# plain mmap, which the shim serves.
echo 0 > /proc/sys/vm/nr_hugepages
hp_settings=$(echo "$settings" | sed 's/huge_pages=off/huge_pages=try/')
pg_start shim $hp_settings
ok $? "huge_pages=try with no huge pages: the server starts"
line=$(pg_served)
ok $? "huge_pages=try with no huge pages: a 4 KiB region serves it"
[ "$(pg_sql "SELECT count(*) FROM pgbench_branches")" = 4 ]
ok $? "huge_pages=try with no huge pages: the data is there"
pg_stop || bail "stop (huge_pages=try)"

# huge_pages=try with huge pages: a hugetlb region serves them
echo 96 > /proc/sys/vm/nr_hugepages
free0=$(meminfo_kb HugePages_Free)
pg_start shim $hp_settings || bail "start (huge_pages=try, huge pages reserved)"
free1=$(meminfo_kb HugePages_Free) rsvd=$(meminfo_kb HugePages_Rsvd)
line=$(pg_served)
ok $? "huge_pages=try with $free0 huge pages free: the shim serves it"
diag "$line; HugePages_Free $free0 -> $free1, HugePages_Rsvd $rsvd"
[ $((free0 - free1 + rsvd)) -gt 0 ]
ok $? "huge_pages=try: the region's memory is huge pages"
pg_stop || bail "stop (huge_pages=try, huge pages reserved)"
[ "$(meminfo_kb HugePages_Free)" = "$free0" ] && [ "$(meminfo_kb HugePages_Rsvd)" = 0 ]
ok $? "huge_pages=try: the huge pages come back at the stop"
echo 0 > /proc/sys/vm/nr_hugepages
exit $failed
