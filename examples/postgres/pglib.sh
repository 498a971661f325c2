# SPDX-License-Identifier: GPL-2.0
#
# pglib.sh: run the distribution's PostgreSQL in a vm-run guest, with its
# shared memory served from msharefs by libmshare-preload.so or not, and
# measure it. Sourced (POSIX sh) by examples/postgres/demo (make
# demo-postgres) and by the guest test test-postgres. Runs as root in the
# guest; the server and pgbench run as the distribution's postgres user.
#
# Set before sourcing, or take the defaults:
#   PG_ROOT  a directory for the cluster: a tmpfs is mounted there
#   PG_SHIM  libmshare-preload.so
#   PG_CLI   the mshare CLI
#   PG_BIN   PostgreSQL's programs (/usr/lib/postgresql/15/bin)
#
# The functions print nothing on success unless that is what they are
# for; on failure they print why on stderr and return 1.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_USER=${PG_USER:-postgres}
PG_ROOT=${PG_ROOT:-/tmp/pg-mshare}
PGDATA=$PG_ROOT/data
PG_SOCK=$PG_ROOT/sock
PG_LOG=$PG_ROOT/server.log
PG_MNT=${PG_MNT:-/sys/fs/mshare}

pg_err() { echo "pglib: $*" >&2; return 1; }

# Why PostgreSQL cannot run here, or nothing: for a test to skip on.
pg_missing() {
	[ -x "$PG_BIN/postgres" ] || { echo "no $PG_BIN/postgres (postgresql-15)"; return; }
	[ -x "$PG_BIN/pgbench" ] || { echo "no $PG_BIN/pgbench"; return; }
	id -u "$PG_USER" > /dev/null 2>&1 || { echo "no user $PG_USER"; return; }
	command -v setpriv > /dev/null || { echo "no setpriv (util-linux)"; return; }
	grep -qw msharefs /proc/filesystems || { echo "no msharefs in this kernel"; return; }
	return 0
}

# Run a command as the PostgreSQL user, with the cluster's socket as PGHOST.
pg_as() {
	setpriv --reuid="$PG_USER" --regid="$PG_USER" --init-groups \
		env HOME="$PG_ROOT" PGHOST="$PG_SOCK" PGDATABASE=postgres "$@"
}

# A tmpfs at PG_ROOT for the data directory and the socket, and an
# msharefs mount that the PostgreSQL user may create regions in (the
# guest mounts it 0755; 1777 is /dev/shm's mode). SIZE: the tmpfs.
pg_setup() {
	size=${1:-4G}
	mkdir -p "$PG_ROOT" || return 1
	mountpoint -q "$PG_ROOT" || mount -t tmpfs -o "size=$size,mode=0755" tmpfs "$PG_ROOT" ||
		pg_err "cannot mount a tmpfs on $PG_ROOT" || return 1
	mkdir -p "$PG_SOCK" && chown "$PG_USER:" "$PG_ROOT" "$PG_SOCK" || return 1
	mountpoint -q "$PG_MNT" || pg_err "$PG_MNT is not mounted" || return 1
	chmod 1777 "$PG_MNT" || pg_err "cannot chmod $PG_MNT" || return 1
}

# initdb, quietly: a log in PG_ROOT/initdb.log.
pg_initdb() {
	pg_as "$PG_BIN/initdb" -D "$PGDATA" -A trust -E UTF8 --locale=C --no-sync \
		> "$PG_ROOT/initdb.log" 2>&1 ||
		{ cat "$PG_ROOT/initdb.log" >&2; pg_err "initdb failed"; }
}

# pg_start shim|plain [-c NAME=VALUE...]: start the server, wait until it
# accepts connections. shim: under libmshare-preload.so (verbose, so a
# mapping it cannot serve says why in the server log). The settings
# common to every run come first; the caller's override them.
pg_start() {
	mode=$1
	shift
	case $mode in
	shim) set -- env LD_PRELOAD="$PG_SHIM" MSHARE_PRELOAD=1 MSHARE_PRELOAD_VERBOSE=1 \
		"$PG_BIN/pg_ctl" -o "-c unix_socket_directories=$PG_SOCK -c listen_addresses= $*" ;;
	plain) set -- "$PG_BIN/pg_ctl" -o "-c unix_socket_directories=$PG_SOCK -c listen_addresses= $*" ;;
	*) pg_err "pg_start: mode '$mode' is neither shim nor plain"; return 1 ;;
	esac
	: > "$PG_LOG"
	chown "$PG_USER:" "$PG_LOG"
	pg_as "$@" -D "$PGDATA" -l "$PG_LOG" -w -t 900 start > "$PG_ROOT/pg_ctl.log" 2>&1 ||
		{ cat "$PG_LOG" >&2; pg_err "the server did not start ($mode)"; }
}

# Stop the server (fast shutdown: disconnect clients, write a checkpoint).
pg_stop() {
	pg_as "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w -t 900 stop > "$PG_ROOT/pg_ctl.log" 2>&1 ||
		{ cat "$PG_ROOT/pg_ctl.log" "$PG_LOG" >&2; pg_err "the server did not stop"; }
}

# The postmaster's pid.
pg_postmaster() {
	head -n 1 "$PGDATA/postmaster.pid" 2>/dev/null
}

# psql -Atc SQL: one query, its result unadorned.
pg_sql() {
	pg_as "$PG_BIN/psql" -X -At -v ON_ERROR_STOP=1 -c "$1"
}

# Is the postmaster's main shared memory an msharefs attach? Prints the
# maps line when it is.
pg_served() {
	grep " $PG_MNT/preload\." "/proc/$(pg_postmaster)/maps"
}

# A /proc/meminfo field in kB, by name (PageTables, Shmem, MemFree).
# Builtins only: the sampler below calls it every 200 ms.
meminfo_kb() {
	while read -r key value unit; do
		if [ "$key" = "$1:" ]; then
			echo "$value"
			return 0
		fi
	done < /proc/meminfo
	return 1
}

# Shared memory that no tmpfs holds, in kB: Shmem counts the pages of
# every tmpfs (the data directory's among them) with those of shared
# anonymous mappings, SysV segments and msharefs regions. A tmpfs page
# swapped out leaves Shmem but not df's count: with little swapping (the
# guests swap to zram only under pressure) the error is small, and it can
# only make the figure lower.
anon_shmem_kb() {
	shmem=$(meminfo_kb Shmem)
	files=$(df -k -t tmpfs -t devtmpfs --output=used | sed 1d |
		{ sum=0; while read -r n; do sum=$((sum + n)); done; echo $sum; })
	echo $((shmem - files))
}

# MemFree in kB, after dropping clean caches, with what the tmpfs files
# hold counted as free: the data directory grows (WAL, new rows) between
# two readings, and that is not memory anybody leaked.
free_kb() {
	sync
	echo 3 > /proc/sys/vm/drop_caches
	files=$(df -k -t tmpfs -t devtmpfs --output=used | sed 1d |
		{ sum=0; while read -r n; do sum=$((sum + n)); done; echo $sum; })
	echo $(($(meminfo_kb MemFree) + files))
}

# The minor faults of the postmaster's reaped children: field 11 of
# /proc/PID/stat (the command, field 2, is "(postgres)", one word).
pg_child_minflt() {
	read -r _ _ _ _ _ _ _ _ _ _ cminflt _ < "/proc/$(pg_postmaster)/stat"
	echo "$cminflt"
}

# How many processes the postmaster has now, zombies included.
pg_children() {
	pgrep -c -P "$(pg_postmaster)"
}

# How many client backends: their title is "postgres: USER DATABASE ...",
# the auxiliary processes' "postgres: checkpointer" and the like.
pg_backends() {
	pgrep -c -P "$(pg_postmaster)" -f "^postgres: $PG_USER "
}

# Wait (up to 60 s) until no client backend is left and the postmaster has
# reaped every child that exited, then print how many children it has.
# 1 on timeout.
pg_quiesce() {
	tries=0
	while [ "$(pg_backends)" -gt 0 ]; do
		tries=$((tries + 1))
		[ $tries -lt 600 ] || { pg_err "backends still running after 60 s"; return 1; }
		sleep 0.1
	done
	# a backend that exited is a zombie until the postmaster reaps it,
	# and its faults reach the postmaster's count only then
	while [ "$(ps -o stat= --ppid "$(pg_postmaster)" | grep -c '^Z')" -gt 0 ]; do
		tries=$((tries + 1))
		[ $tries -lt 600 ] || { pg_err "children not reaped after 60 s"; return 1; }
		sleep 0.1
	done
	pg_children
}

# pg_bench NAME CLIENTS PGBENCH ARGS...: a pgbench run with CLIENTS
# connections (and the run's length, -T SECONDS or -t TRANSACTIONS, in
# the arguments), PageTables sampled every 200 ms all along. Prints one
# CSV line:
#   NAME,CLIENTS,tps,connect_ms,pagetables_before_kb,pagetables_peak_kb,
#   minflt_per_backend,failed
# It starts once no backend is left from before (a prewarm's, say), and
# counts the faults once the postmaster has reaped the run's backends:
# the growth of its children's count, divided by CLIENTS. pgbench's
# output goes to PG_ROOT/pgbench-NAME-CLIENTS.log. Returns 1 when pgbench
# fails or reports a failed transaction. A subshell: it sets nothing in
# its caller.
pg_bench() (
	name=$1 clients=$2
	shift 2
	out=$PG_ROOT/pgbench-$name-$clients.log
	pg_quiesce > /dev/null || exit 1
	before_pt=$(meminfo_kb PageTables)
	before_flt=$(pg_child_minflt)
	peak_file=$PG_ROOT/peak stop_file=$PG_ROOT/peak.stop
	rm -f "$stop_file"
	echo "$before_pt" > "$peak_file"
	(
		peak=$before_pt
		while [ ! -e "$stop_file" ]; do
			pt=$(meminfo_kb PageTables)
			if [ "$pt" -gt "$peak" ]; then
				peak=$pt
				echo "$peak" > "$peak_file"
			fi
			sleep 0.2
		done
	) &
	sampler=$!
	rc=0
	pg_as "$PG_BIN/pgbench" -n -c "$clients" -j 2 "$@" > "$out" 2>&1 || rc=$?
	pg_quiesce > /dev/null || rc=1
	touch "$stop_file"
	wait "$sampler"
	rm -f "$stop_file"
	peak=$(cat "$peak_file")
	after_flt=$(pg_child_minflt)
	tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$out")
	conn=$(sed -n 's/^initial connection time = \([0-9.]*\) ms/\1/p' "$out")
	failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$out")
	echo "$name,$clients,${tps:-0},${conn:-0},$before_pt,$peak,$(((after_flt - before_flt) / clients)),${failed:-0}"
	if [ $rc != 0 ] || [ -z "$tps" ] || [ "${failed:-0}" != 0 ]; then
		cat "$out" >&2
		pg_err "pgbench $name with $clients clients failed (exit $rc)"
		exit 1
	fi
)

# pg_crash_restart: kill -9 a client backend, as a crash would, and wait
# for the postmaster to end every process, reinitialise its shared memory
# and serve again. Prints "VICTIM OLD NEW": the backend's pid and the
# region that served the shared memory before and after (the same empty
# word twice when the shim is not in use). 1 if there was no restart, no
# service after it, or (with the shim) no new region.
pg_crash_restart() (
	marker='all server processes terminated; reinitializing'
	before=$(grep -c "$marker" "$PG_LOG")
	old=$(pg_served | awk '{ print $6 }')
	pg_as "$PG_BIN/psql" -X -c "SELECT pg_sleep(3600)" > /dev/null 2>&1 &
	client=$!
	victim=
	for _ in $(seq 100); do
		victim=$(pg_sql "SELECT pid FROM pg_stat_activity
			WHERE query LIKE 'SELECT pg_sleep%' AND pid <> pg_backend_pid()")
		[ -n "$victim" ] && break
		sleep 0.1
	done
	if [ -z "$victim" ]; then
		kill "$client"
		pg_err "no backend to kill"
		exit 1
	fi
	kill -9 "$victim"
	wait "$client"
	# The postmaster may still answer before it has noticed the death:
	# wait for the reinitialisation it logs, then for service.
	tries=0
	until [ "$(grep -c "$marker" "$PG_LOG")" -gt "$before" ]; do
		tries=$((tries + 1))
		[ $tries -lt 600 ] || { pg_err "no reinitialisation in 60 s"; exit 1; }
		sleep 0.1
	done
	tries=0
	until pg_sql "SELECT 1" > /dev/null 2>&1; do
		tries=$((tries + 1))
		[ $tries -lt 600 ] || { cat "$PG_LOG" >&2; pg_err "no service 60 s after the restart"; exit 1; }
		sleep 0.1
	done
	new=$(pg_served | awk '{ print $6 }')
	if [ -n "$old" ] && { [ -z "$new" ] || [ "$new" = "$old" ]; }; then
		pg_err "after the restart the shared memory is not served from a new region (${new:-none})"
		exit 1
	fi
	echo "$victim ${old:--} ${new:--}"
)

# What the shim may have left: processes still attached to one of its
# regions, or regions still named in the mount. Prints them; 1 when there
# is any, or when the mount cannot be listed. (The shim unlinks a region
# as soon as it is attached, so a named one means a process died between
# the two.)
pg_leftovers() {
	attached=$(grep -l " $PG_MNT/preload\." /proc/[0-9]*/maps 2>/dev/null)
	named=$("$PG_CLI" ls 2>&1) || { echo "mshare ls failed: $named"; return 1; }
	named=$(echo "$named" | grep preload)
	[ -z "$attached$named" ] && return 0
	echo "attached: ${attached:-none}; named: ${named:-none}"
	return 1
}
