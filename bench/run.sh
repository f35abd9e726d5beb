#!/usr/bin/env bash
# Benchmarks the IPO daemon on this machine and prints a Markdown table of medians.
#
# Starts its own PostgreSQL 15 (temporary data directory, free port on 127.0.0.1, default
# durability settings), a Node.js HTTP target on loopback, and the daemon from target/ipo.jar;
# scenarios.mjs then runs the scenarios and starts and stops the daemon. Everything this script
# started is stopped when it ends, whether it succeeds, fails or is interrupted.
#
# Usage: bench/run.sh [--runs N] [--only LIST] [--wait-quiet SECONDS] [--pg-setting KEY=VALUE]
#                     [--analyze] [--rebuild] [--keep]
# See bench/README.md for what each scenario measures.

set -euo pipefail

usage() {
    cat <<'EOF'
Usage: bench/run.sh [options]

  --runs N       rounds of every scenario; the table shows medians (default 3, 1 is quick)
  --only LIST    comma-separated scenarios to run: fast, latency, slow1k, slow10k, idle,
                 backlog (default: all)
  --wait-quiet S before each scenario, wait up to S seconds for other processes to leave the
                 machine nearly idle (default 0: do not wait; a busy run is flagged anyway)
  --pg-setting K=V  add a postgresql.conf line, e.g. synchronous_commit=off to see what the
                 disk's flushes cost; repeatable; the summary lists it (default: none)
  --analyze      ANALYZE the emptied tables after each TRUNCATE, to compare the daemon's
                 query plans with and without statistics (default: no ANALYZE)
  --rebuild      build target/ipo.jar even if it exists
  --keep         keep the temporary PostgreSQL data directory and logs
  -h, --help     this text

Environment: PG_BIN (default /usr/lib/postgresql/15/bin); BENCH_JAVA_OPTS, extra JVM options for
the daemon (default none, so it runs exactly as `java -jar target/ipo.jar`); BENCH_WARMUP_JOBS
and BENCH_WARMUP_SEQUENTIAL, the warm-up's batch and one-at-a-time jobs (default 5000 and 1000).
EOF
}

runs=3
only=''
rebuild=false
keep=false
quiet_wait=0
analyze=0
pg_settings=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --runs) runs="${2:?--runs needs a number}"; shift 2 ;;
        --runs=*) runs="${1#*=}"; shift ;;
        --only) only="${2:?--only needs a list}"; shift 2 ;;
        --only=*) only="${1#*=}"; shift ;;
        --wait-quiet) quiet_wait="${2:?--wait-quiet needs seconds}"; shift 2 ;;
        --wait-quiet=*) quiet_wait="${1#*=}"; shift ;;
        --pg-setting) pg_settings+=("${2:?--pg-setting needs KEY=VALUE}"); shift 2 ;;
        --pg-setting=*) pg_settings+=("${1#*=}"); shift ;;
        --analyze) analyze=1; shift ;;
        --rebuild) rebuild=true; shift ;;
        --keep) keep=true; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "Unknown option: $1" >&2; usage >&2; exit 2 ;;
    esac
done
if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then
    echo "--runs must be a whole number of at least 1, got: $runs" >&2
    exit 2
fi
if ! [[ "$quiet_wait" =~ ^[0-9]+$ ]]; then
    echo "--wait-quiet must be a whole number of seconds, got: $quiet_wait" >&2
    exit 2
fi
for scenario in ${only//,/ }; do
    case "$scenario" in
        fast|latency|slow1k|slow10k|idle|backlog) ;;
        *) echo "--only takes fast, latency, slow1k, slow10k, idle, backlog; got: $scenario" >&2
           exit 2 ;;
    esac
done
for setting in ${pg_settings[@]+"${pg_settings[@]}"}; do
    if ! [[ "$setting" =~ ^[a-z_.]+=[A-Za-z0-9_.]+$ ]]; then
        echo "--pg-setting takes KEY=VALUE, got: $setting" >&2
        exit 2
    fi
done

bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
project_dir="$(dirname "$bench_dir")"
pg_bin="${PG_BIN:-/usr/lib/postgresql/15/bin}"
reproduce="bench/run.sh --runs $runs${only:+ --only $only}"
if [[ "$quiet_wait" != 0 ]]; then
    reproduce+=" --wait-quiet $quiet_wait"
fi
for setting in ${pg_settings[@]+"${pg_settings[@]}"}; do
    reproduce+=" --pg-setting $setting"
done
if [[ "$analyze" == 1 ]]; then
    reproduce+=" --analyze"
fi

for tool in node npm java "$pg_bin/postgres" "$pg_bin/initdb" "$pg_bin/pg_ctl" "$pg_bin/psql"; do
    if ! command -v "$tool" >/dev/null; then
        echo "Missing $tool; see bench/README.md for what the benchmark needs." >&2
        exit 1
    fi
done

log() {
    printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*"
}

# PostgreSQL refuses to run as root; as root, its tools run as the postgres OS user.
as_postgres() {
    if [[ "$(id -u)" == 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    node -e "const s = require('net').createServer();
        s.listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); });"
}

work_dir="$(mktemp -d /tmp/ipo-bench.XXXXXX)"
# The postgres OS user must reach its data directory inside.
chmod 755 "$work_dir"
pg_data="$work_dir/pgdata"
target_pid=''
driver_pid=''
pg_started=false

stop_pid() {
    local pid="$1" seconds="$2"
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < seconds * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [[ -n "$driver_pid" ]]; then
        stop_pid "$driver_pid" 5
    fi
    # scenarios.mjs keeps the pid of the daemon it runs here, for when it dies itself.
    if [[ -s "$work_dir/daemon.pid" ]]; then
        stop_pid "$(cat "$work_dir/daemon.pid")" 10
    fi
    if [[ -n "$target_pid" ]]; then
        stop_pid "$target_pid" 5
    fi
    if $pg_started; then
        as_postgres "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w -t 30 stop >/dev/null 2>&1 \
            || as_postgres "$pg_bin/pg_ctl" -D "$pg_data" -m immediate stop >/dev/null 2>&1 \
            || true
    fi
    if $keep; then
        log "Kept $work_dir"
    else
        rm -rf "$work_dir"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ ! -d "$bench_dir/node_modules/pg" ]]; then
    log "Installing the benchmark's npm packages (npm ci)"
    (cd "$bench_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi

jar="$project_dir/target/ipo.jar"
if $rebuild || [[ ! -f "$jar" ]]; then
    log "Building target/ipo.jar"
    (cd "$project_dir" && mvn -q -B package -DskipTests -Dspotless.check.skip=true)
elif [[ -n "$(find "$project_dir/src" "$project_dir/pom.xml" -newer "$jar" -type f \
        -print -quit)" ]]; then
    log "Note: target/ipo.jar is older than src/ or pom.xml; --rebuild measures the current code"
fi

# The daemon runs from a copy of the build, its settings and its routes, so that a rebuild or an
# edit in the work tree while the benchmark runs cannot change what is being measured.
daemon_dir="$work_dir/daemon"
mkdir -p "$daemon_dir/target"
cp "$jar" "$daemon_dir/target/ipo.jar"
cp -r "$project_dir/target/lib" "$daemon_dir/target/lib"
cp -r "$project_dir/application.properties" "$project_dir/routes" "$daemon_dir/"

read -r load_1m _ </proc/loadavg
if awk -v load="$load_1m" 'BEGIN { exit !(load > 1) }'; then
    log "Note: load average $load_1m; other processes will skew the numbers (see --wait-quiet)"
fi

log "Starting PostgreSQL in $pg_data"
mkdir -p "$pg_data"
if [[ "$(id -u)" == 0 ]]; then
    chown postgres: "$pg_data"
fi
as_postgres "$pg_bin/initdb" -D "$pg_data" -U postgres --auth=trust -E UTF8 --no-sync \
    >"$work_dir/initdb.log" 2>&1 || { cat "$work_dir/initdb.log" >&2; exit 1; }
pg_port="$(free_port)"
# synchronous_commit and fsync keep their defaults (on), as in production. TCP on 127.0.0.1 only.
cat >>"$pg_data/postgresql.conf" <<EOF

# ipo benchmark
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = ''
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = top
EOF
for setting in ${pg_settings[@]+"${pg_settings[@]}"}; do
    printf "%s = '%s'\n" "${setting%%=*}" "${setting#*=}" >>"$pg_data/postgresql.conf"
done
# The log goes inside the data directory, which only the postgres user may write to.
as_postgres "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_data/server.log" -w -t 60 start >/dev/null
pg_started=true

psql_admin() {
    "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres "$@"
}
psql_admin -d postgres -c 'CREATE ROLE ipo LOGIN' -c 'CREATE DATABASE ipo_bench OWNER ipo'
psql_admin -d ipo_bench -c 'CREATE EXTENSION pg_stat_statements'

log "Starting the HTTP target"
node "$bench_dir/target-server.mjs" "$work_dir/target.port" &
target_pid=$!
for ((i = 0; i < 100; i++)); do
    [[ -s "$work_dir/target.port" ]] && break
    sleep 0.1
done
if [[ ! -s "$work_dir/target.port" ]]; then
    echo "The HTTP target did not start within 10 s." >&2
    exit 1
fi

out_dir="$bench_dir/out/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out_dir"
log "PostgreSQL on 127.0.0.1:$pg_port, HTTP target on 127.0.0.1:$(cat "$work_dir/target.port");"
log "logs and details in ${out_dir#"$project_dir"/}"

# In the background, so that a TERM to this script runs cleanup at once instead of after it.
BENCH_RUNS="$runs" \
    BENCH_ONLY="$only" \
    BENCH_PG_PORT="$pg_port" \
    BENCH_POSTMASTER_PID_FILE="$pg_data/postmaster.pid" \
    BENCH_TARGET_PORT="$(cat "$work_dir/target.port")" \
    BENCH_TARGET_PID="$target_pid" \
    BENCH_DAEMON_DIR="$daemon_dir" \
    BENCH_WORK_DIR="$work_dir" \
    BENCH_OUT_DIR="$out_dir" \
    BENCH_COMMAND="$reproduce" \
    BENCH_QUIET_WAIT="$quiet_wait" \
    BENCH_ANALYZE="$analyze" \
    BENCH_PG_SETTINGS="${pg_settings[*]+"${pg_settings[*]}"}" \
    BENCH_JAR_TIME="$(date -u -r "$jar" '+%Y-%m-%d %H:%M UTC')" \
    node "$bench_dir/scenarios.mjs" &
driver_pid=$!
driver_status=0
wait "$driver_pid" || driver_status=$?
driver_pid=''
cp "$pg_data/server.log" "$out_dir/postgres.log" 2>/dev/null || true
exit "$driver_status"
