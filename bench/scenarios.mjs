// Runs IPO's benchmark scenarios against a PostgreSQL server and an HTTP target that run.sh has
// started, starting and stopping the daemon itself, and prints a Markdown table of medians.
//
// Each round starts a fresh daemon, warms it up, and runs the scenarios in a fixed order on an
// emptied table; the backlog scenario comes last because it restarts the daemon. Every wait is
// bounded: a scenario that times out still reports what it saw, marked as a timeout.
//
// The measuring client is one process with three connections (inserts, a LISTEN on ipo_output,
// statistics) that also reads /proc for the daemon's CPU and memory. It never polls the table
// while jobs run except for a count every few seconds, so its own CPU stays small: details.md
// reports it next to the daemon's.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';

const env = process.env;
const settings = {
    runs: positiveInteger(env.BENCH_RUNS ?? '3', 'BENCH_RUNS'),
    only: (env.BENCH_ONLY ?? '').split(',').map((name) => name.trim()).filter(Boolean),
    pgPort: Number(env.BENCH_PG_PORT),
    database: env.BENCH_DB ?? 'ipo_bench',
    daemonUser: env.BENCH_DAEMON_USER ?? 'ipo',
    adminUser: env.BENCH_ADMIN_USER ?? 'postgres',
    postmasterPidFile: env.BENCH_POSTMASTER_PID_FILE,
    targetPort: Number(env.BENCH_TARGET_PORT),
    targetPid: Number(env.BENCH_TARGET_PID),
    daemonDir: env.BENCH_DAEMON_DIR,
    workDir: env.BENCH_WORK_DIR,
    outDir: env.BENCH_OUT_DIR,
    javaOptions: (env.BENCH_JAVA_OPTS ?? '').split(/\s+/).filter(Boolean),
    command: env.BENCH_COMMAND ?? 'bench/run.sh',
};

// Sizes and limits of each scenario. The timeouts bound a round even when the daemon stalls.
const FAST_JOBS = 10_000;
const SEQUENTIAL_JOBS = 300;
const SEQUENTIAL_BUDGET_MS = 60_000;
const SEQUENTIAL_JOB_TIMEOUT_MS = 5_000;
const SLOW_SMALL_JOBS = 1_000;
const SLOW_LARGE_JOBS = 10_000;
const SLOW_DELAY_MS = 1_000;
const BACKLOG_JOBS = 100_000;
const IDLE_SETTLE_MS = 3_000;
const IDLE_WINDOW_MS = 10_000;
// The JIT needs thousands of jobs through a path before it settles: sequential p50 fell from
// about 28 ms to 6 ms over the first 3,000 one-at-a-time jobs here. The warm-up buys most of
// that without making a round long; its own numbers are in details.md.
const WARMUP_BATCH_JOBS = positiveInteger(env.BENCH_WARMUP_JOBS ?? '5000', 'BENCH_WARMUP_JOBS');
const WARMUP_SEQUENTIAL_JOBS = positiveInteger(
    env.BENCH_WARMUP_SEQUENTIAL ?? '1000', 'BENCH_WARMUP_SEQUENTIAL');
const DAEMON_READY_TIMEOUT_MS = 90_000;
const DAEMON_STOP_TIMEOUT_MS = 45_000;
const MEMORY_SAMPLE_MS = 100;
// How often a batch scenario counts finished rows in SQL, to notice NOTIFYs that never came.
const COUNT_POLL_MS = 2_000;
// A batch with no result for this long is given up as stalled, well before its timeout.
const STALL_MS = 60_000;
// BENCH_ANALYZE=1 analyzes the emptied tables after each TRUNCATE, to compare plans.
const ANALYZE_AFTER_TRUNCATE = (env.BENCH_ANALYZE ?? '0') === '1';

// Above this share of the machine taken by processes outside the benchmark, a run is flagged.
const OTHER_LOAD_WARNING = 0.1;
// How long to wait before a scenario for other processes to go quiet; 0 does not wait.
const QUIET_WAIT_MS = 1000 * Number(env.BENCH_QUIET_WAIT ?? '0');
const QUIET_SAMPLE_MS = 2_000;

// /proc reports CPU time in USER_HZ, which is 100 on Linux whatever the kernel's own tick.
const CLOCK_TICKS_PER_SECOND = 100;

const TERMINAL_STATES = ['done', 'failed', 'cancelled'];

const fastUrl = `http://127.0.0.1:${settings.targetPort}/fast`;
const slowUrl = `http://127.0.0.1:${settings.targetPort}/delay/${SLOW_DELAY_MS}`;

const detailsPath = path.join(settings.outDir, 'details.md');
const resultsPath = path.join(settings.outDir, 'results.json');
const summaryPath = path.join(settings.outDir, 'summary.md');
const daemonPidFile = path.join(settings.workDir, 'daemon.pid');

function positiveInteger(text, name) {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) {
        throw new Error(`${name} must be a whole number of at least 1, got: ${text}`);
    }
    return value;
}

function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

function details(text) {
    fs.appendFileSync(detailsPath, text + '\n');
}

function progress(text) {
    const clock = new Date().toISOString().slice(11, 19);
    process.stdout.write(`[${clock}] ${text}\n`);
}

// ---------------------------------------------------------------------------------------------
// /proc readings: CPU in clock ticks, memory in kB

/** utime + stime of a process or thread, in clock ticks; null once it has gone. */
function cpuTicks(statPath) {
    try {
        const stat = fs.readFileSync(statPath, 'utf8');
        // The command name may hold spaces and parentheses; the fields after the last ')' do not.
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return Number(fields[11]) + Number(fields[12]);
    } catch {
        return null;
    }
}

function parentPid(pid) {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
        return null;
    }
}

function postmasterPid() {
    return Number(fs.readFileSync(settings.postmasterPidFile, 'utf8').split('\n')[0]);
}

/** CPU ticks of PostgreSQL: the postmaster and every process it forked. */
function postgresTicks() {
    const postmaster = postmasterPid();
    let ticks = cpuTicks(`/proc/${postmaster}/stat`) ?? 0;
    for (const entry of fs.readdirSync('/proc')) {
        if (/^\d+$/.test(entry) && parentPid(entry) === postmaster) {
            ticks += cpuTicks(`/proc/${entry}/stat`) ?? 0;
        }
    }
    return ticks;
}

/** CPU ticks per thread of a process, keyed by thread id, with the thread's name. */
function threadTicks(pid) {
    const threads = new Map();
    let tasks;
    try {
        tasks = fs.readdirSync(`/proc/${pid}/task`);
    } catch {
        return threads;
    }
    for (const tid of tasks) {
        const ticks = cpuTicks(`/proc/${pid}/task/${tid}/stat`);
        if (ticks === null) continue;
        let name = '?';
        try {
            name = fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
        } catch {
            // The thread ended between the two reads.
        }
        threads.set(tid, { name, ticks });
    }
    return threads;
}

function memoryKb(pid) {
    try {
        const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
        const field = (key) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
        return { rss: field('VmRSS'), hwm: field('VmHWM') };
    } catch {
        return { rss: 0, hwm: 0 };
    }
}

/** Samples the daemon's resident memory while a scenario runs; VmHWM alone hides when. */
function startMemorySampler(pid) {
    const sampler = { maxRssKb: 0, samples: 0 };
    sampler.timer = setInterval(() => {
        const { rss } = memoryKb(pid);
        sampler.maxRssKb = Math.max(sampler.maxRssKb, rss);
        sampler.samples += 1;
    }, MEMORY_SAMPLE_MS);
    return sampler;
}

/** CPU ticks the whole machine spent busy, all cores together. */
function machineBusyTicks() {
    const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
    // user nice system idle iowait irq softirq steal: all but idle and iowait were busy.
    const [user, nice, system, , , irq, softirq, steal] = fields.slice(1).map(Number);
    return user + nice + system + irq + softirq + (steal || 0);
}

/** A snapshot of everyone's CPU, so a scenario can say who spent its cores. */
function cpuSnapshot(daemon) {
    return {
        at: performance.now(),
        machine: machineBusyTicks(),
        daemon: daemon.pid ? cpuTicks(`/proc/${daemon.pid}/stat`) ?? 0 : 0,
        threads: daemon.pid ? threadTicks(daemon.pid) : new Map(),
        postgres: postgresTicks(),
        target: cpuTicks(`/proc/${settings.targetPid}/stat`) ?? 0,
        bench: process.cpuUsage(),
    };
}

function cpuSplit(before, after) {
    const seconds = (ticks) => ticks / CLOCK_TICKS_PER_SECOND;
    const benchMicros = after.bench.user + after.bench.system
        - before.bench.user - before.bench.system;
    const threads = [];
    for (const [tid, thread] of after.threads) {
        const delta = thread.ticks - (before.threads.get(tid)?.ticks ?? 0);
        if (delta > 0) threads.push({ name: thread.name, seconds: seconds(delta) });
    }
    threads.sort((a, b) => b.seconds - a.seconds);
    const split = {
        wallSeconds: (after.at - before.at) / 1000,
        daemonSeconds: seconds(after.daemon - before.daemon),
        postgresSeconds: seconds(after.postgres - before.postgres),
        targetSeconds: seconds(after.target - before.target),
        benchSeconds: benchMicros / 1e6,
        topThreads: threads.slice(0, 8),
    };
    // Whatever else ran on the machine meanwhile: other users' builds and tests skew the numbers.
    split.otherSeconds = Math.max(0, seconds(after.machine - before.machine) - split.daemonSeconds
        - split.postgresSeconds - split.targetSeconds - split.benchSeconds);
    return split;
}

function cpuSplitText(split) {
    const f = (value) => value.toFixed(2);
    const lines = [
        `- CPU seconds over ${f(split.wallSeconds)} s wall (${os.cpus().length} cores):`
            + ` daemon ${f(split.daemonSeconds)}, PostgreSQL ${f(split.postgresSeconds)},`
            + ` HTTP target ${f(split.targetSeconds)}, measuring client ${f(split.benchSeconds)},`
            + ` other processes ${f(split.otherSeconds)}`,
    ];
    if (split.topThreads.length > 0) {
        const threads = split.topThreads.map((t) => `${t.name} ${f(t.seconds)}`).join(', ');
        lines.push(`- busiest daemon threads (CPU s): ${threads}`);
    }
    return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// The HTTP target's own counters

function targetRequest(pathname) {
    return new Promise((resolve, reject) => {
        const request = http.get(
            { host: '127.0.0.1', port: settings.targetPort, path: pathname, agent: false },
            (response) => {
                let body = '';
                response.setEncoding('utf8');
                response.on('data', (chunk) => {
                    body += chunk;
                });
                response.on('end', () => resolve(JSON.parse(body)));
            });
        request.on('error', reject);
        request.setTimeout(5_000, () => request.destroy(new Error('target did not answer')));
    });
}

/** When requests reached the target, in seconds after `sinceWallMs`. */
function targetTimeline(stats, sinceWallMs) {
    const after = (at) => (at === null ? null : (at - sinceWallMs) / 1000);
    return {
        requests: stats.requests,
        firstRequestSeconds: after(stats.firstRequestAt),
        lastRequestSeconds: after(stats.lastRequestAt),
        lastResponseSeconds: after(stats.lastResponseAt),
        connectionsOpened: stats.connectionsOpened,
        maxOpenConnections: stats.maxOpenConnections,
        maxInFlight: stats.maxInFlight,
    };
}

function targetTimelineText(timeline) {
    const s = (value) => (value === null ? '–' : value.toFixed(3));
    return [
        `- HTTP target: ${timeline.requests} requests,`,
        `the first ${s(timeline.firstRequestSeconds)} s`,
        `and the last ${s(timeline.lastRequestSeconds)} s after commit,`,
        `last answer ${s(timeline.lastResponseSeconds)} s;`,
        `at most ${timeline.maxInFlight} requests open at once;`,
        `${timeline.connectionsOpened} new connections`,
        `(at most ${timeline.maxOpenConnections} open)`,
    ].join(' ');
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL clients

function client(user) {
    return new pg.Client({
        host: '127.0.0.1',
        port: settings.pgPort,
        user,
        database: settings.database,
        application_name: 'ipo-bench',
    });
}

/**
 * The ipo_output listener. Every NOTIFY is counted by the current batch, if any, and its arrival
 * time is kept by id for the sequential scenario.
 */
class OutputListener {
    constructor(connection) {
        this.connection = connection;
        this.batch = null;
        this.arrivals = new Map();
        this.waiters = new Map();
        connection.on('notification', (message) => this.receive(message));
    }

    async start() {
        await this.connection.query('LISTEN ipo_output');
    }

    receive(message) {
        const at = performance.now();
        const output = JSON.parse(message.payload);
        const batch = this.batch;
        if (batch) {
            batch.received += 1;
            if (output.state !== 'done') batch.notDone += 1;
            batch.firstAt ??= at;
            batch.lastAt = at;
            if (batch.received >= batch.expected) batch.finish();
        }
        const waiter = this.waiters.get(output.id);
        if (waiter) {
            this.waiters.delete(output.id);
            waiter(at);
        } else if (!batch) {
            this.arrivals.set(output.id, at);
        }
    }

    /** Counts the next `expected` NOTIFYs; finish() runs when the last one comes. */
    expect(expected) {
        let finish;
        const finished = new Promise((resolve) => {
            finish = resolve;
        });
        this.batch = { expected, received: 0, notDone: 0, firstAt: null, lastAt: null, finish };
        return { batch: this.batch, finished };
    }

    endBatch() {
        this.batch = null;
    }

    /** The time the NOTIFY for `id` arrived, waiting at most `timeoutMs`; null on timeout. */
    arrivalOf(id, timeoutMs) {
        if (this.arrivals.has(id)) {
            const at = this.arrivals.get(id);
            this.arrivals.delete(id);
            return Promise.resolve(at);
        }
        return new Promise((resolve) => {
            const timer = setTimeout(() => {
                this.waiters.delete(id);
                resolve(null);
            }, timeoutMs);
            this.waiters.set(id, (at) => {
                clearTimeout(timer);
                resolve(at);
            });
        });
    }
}

async function stateCounts(admin) {
    const result = await admin.query(
        `SELECT state, status_code, count(*)::int AS jobs
           FROM ipo_flower GROUP BY state, status_code ORDER BY state, status_code`);
    return result.rows;
}

function stateCountsText(rows) {
    return rows.map((row) => `${row.state}/${row.status_code}: ${row.jobs}`).join(', ') || 'none';
}

async function finishedCount(admin) {
    const result = await admin.query(
        `SELECT count(*)::int AS jobs FROM ipo_flower WHERE state = ANY($1)`, [TERMINAL_STATES]);
    return result.rows[0].jobs;
}

/** Empties the queue and starts the next scenario from a checkpoint and fresh statistics. */
async function resetDatabase(admin) {
    await admin.query('TRUNCATE ipo_flower CASCADE');
    if (ANALYZE_AFTER_TRUNCATE) {
        // Off by default: right after TRUNCATE and a bulk INSERT the planner has no statistics,
        // as in production after a bulk load, and the claim query must cope with that.
        await admin.query('ANALYZE ipo_flower, ipo_attempt');
    }
    await admin.query('CHECKPOINT');
    await admin.query('SELECT pg_stat_statements_reset()');
}

async function daemonStatements(admin, limit) {
    const result = await admin.query(
        `SELECT s.calls::bigint AS calls, s.total_exec_time AS total_ms, s.rows::bigint AS rows,
                regexp_replace(s.query, '\\s+', ' ', 'g') AS query
           FROM pg_stat_statements AS s
           JOIN pg_roles AS r ON r.oid = s.userid
          WHERE r.rolname = $1
          ORDER BY s.total_exec_time DESC
          LIMIT $2`,
        [settings.daemonUser, limit]);
    return result.rows.map((row) => ({
        calls: Number(row.calls),
        totalMs: Number(row.total_ms),
        rows: Number(row.rows),
        query: row.query,
    }));
}

async function daemonStatementCalls(admin) {
    const result = await admin.query(
        `SELECT coalesce(sum(s.calls), 0)::bigint AS calls
           FROM pg_stat_statements AS s
           JOIN pg_roles AS r ON r.oid = s.userid
          WHERE r.rolname = $1`,
        [settings.daemonUser]);
    return Number(result.rows[0].calls);
}

function statementsText(statements) {
    if (statements.length === 0) return '- no daemon statements recorded';
    const lines = ['- daemon statements by time (calls, total ms, mean ms, rows, query):'];
    for (const s of statements) {
        const query = s.query.length > 90 ? s.query.slice(0, 90) + '…' : s.query;
        lines.push(`  - ${s.calls}, ${s.totalMs.toFixed(0)}, ${(s.totalMs / s.calls).toFixed(2)},`
            + ` ${s.rows}, \`${query.replaceAll('`', "'")}\``);
    }
    return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// The daemon

class Daemon {
    constructor(round) {
        this.round = round;
        this.starts = 0;
        this.pid = null;
        this.process = null;
    }

    get logPath() {
        return path.join(settings.outDir, `daemon-run${this.round}-${this.starts}.log`);
    }

    /** Starts `java -jar target/ipo.jar` in the project directory; returns at once. */
    start() {
        this.starts += 1;
        const log = fs.openSync(this.logPath, 'w');
        this.process = spawn('java', [...settings.javaOptions, '-jar', 'target/ipo.jar'], {
            cwd: settings.daemonDir,
            env: {
                ...process.env,
                IPO_DB_URL: `jdbc:postgresql://127.0.0.1:${settings.pgPort}/${settings.database}`,
                IPO_DB_USER: settings.daemonUser,
                IPO_DB_PASSWORD: '',
            },
            stdio: ['ignore', log, log],
        });
        fs.closeSync(log);
        this.pid = this.process.pid;
        this.exitCode = undefined;
        this.expectingExit = false;
        this.exited = new Promise((resolve) => {
            this.process.once('exit', (code, signal) => {
                this.exitCode = signal ?? code;
                resolve(this.exitCode);
            });
        });
        // run.sh kills whatever pid is in this file if the benchmark itself dies.
        fs.writeFileSync(daemonPidFile, String(this.pid));
        return performance.now();
    }

    /** Waits for Camel's "started" line; throws with the log's tail if the daemon dies first. */
    async waitReady() {
        const deadline = performance.now() + DAEMON_READY_TIMEOUT_MS;
        while (performance.now() < deadline) {
            if (this.exitCode !== undefined) {
                throw new Error(`The daemon exited (${this.exitCode}) before it was ready.`
                    + ` Log ${this.logPath}:\n${this.logTail(30)}`);
            }
            if (/Apache Camel \S+ \(\S+\) started in/.test(fs.readFileSync(this.logPath, 'utf8'))) {
                return performance.now();
            }
            await sleep(50);
        }
        throw new Error(`The daemon was not ready within ${DAEMON_READY_TIMEOUT_MS} ms.`
            + ` Log ${this.logPath}:\n${this.logTail(30)}`);
    }

    /** SIGTERM, then SIGKILL if the graceful shutdown takes too long; returns seconds taken. */
    async stop() {
        if (!this.process || this.exitCode !== undefined) return { seconds: 0, killed: false };
        const began = performance.now();
        this.expectingExit = true;
        this.process.kill('SIGTERM');
        const stopped = await Promise.race([
            this.exited.then(() => true),
            sleep(DAEMON_STOP_TIMEOUT_MS).then(() => false),
        ]);
        if (!stopped) {
            this.process.kill('SIGKILL');
            await this.exited;
        }
        fs.rmSync(daemonPidFile, { force: true });
        this.pid = null;
        return { seconds: (performance.now() - began) / 1000, killed: !stopped };
    }

    /** Throws if the daemon ended without being asked to, so a round fails fast and says why. */
    checkAlive() {
        if (this.exitCode !== undefined && !this.expectingExit) {
            throw new Error(`The daemon ended unexpectedly (${this.exitCode}); a SIGTERM from`
                + ` outside the benchmark shows in its log as "shutdown hook triggered by SIGTERM".`
                + ` Log ${this.logPath}:\n${this.logTail(15)}`);
        }
    }

    logTail(lines) {
        try {
            return fs.readFileSync(this.logPath, 'utf8').trimEnd().split('\n').slice(-lines)
                .join('\n');
        } catch {
            return '(no log)';
        }
    }
}

/** WARN and ERROR lines of every daemon log written so far, counted by their message. */
function daemonLogProblems() {
    const problems = new Map();
    for (const file of fs.readdirSync(settings.outDir)) {
        if (!file.startsWith('daemon-') || !file.endsWith('.log')) continue;
        const text = fs.readFileSync(path.join(settings.outDir, file), 'utf8');
        for (const line of text.split('\n')) {
            const match = /^\S+ (WARN|ERROR) +(.*)$/.exec(line);
            if (!match) continue;
            // Ids and numbers differ per line; the message without them says what happened.
            const key = `${match[1]} ${match[2].replace(/\d+/g, 'N').slice(0, 160)}`;
            const seen = problems.get(key) ?? { count: 0, example: `${file}: ${line}` };
            seen.count += 1;
            problems.set(key, seen);
        }
    }
    return problems;
}

// ---------------------------------------------------------------------------------------------
// Scenarios

/**
 * Inserts `jobs` rows for `url` in one statement and waits for as many ipo_output NOTIFYs.
 * Returns the seconds from the insert's commit to the last NOTIFY, and what the rows ended as.
 */
async function runBatch({ admin, listener, daemon, url, jobs, timeoutMs, label }) {
    await resetDatabase(admin);
    const cpuBefore = cpuSnapshot(daemon);
    const sampler = daemon.pid ? startMemorySampler(daemon.pid) : null;
    const { batch, finished } = listener.expect(jobs);
    await targetRequest('/__reset');

    const sentAt = performance.now();
    await admin.query(
        'INSERT INTO ipo_flower (url) SELECT $1 FROM generate_series(1, $2)', [url, jobs]);
    const committedAt = performance.now();
    const committedAtWall = Date.now();

    const outcome = await waitForBatch(admin, daemon, batch, finished, jobs, timeoutMs);
    listener.endBatch();
    if (sampler) clearInterval(sampler.timer);
    const cpuAfter = cpuSnapshot(daemon);

    const lastAt = batch.lastAt ?? performance.now();
    const seconds = (lastAt - committedAt) / 1000;
    const result = {
        jobs,
        insertSeconds: (committedAt - sentAt) / 1000,
        seconds,
        jobsPerSecond: batch.received / seconds,
        firstResultSeconds: batch.firstAt ? (batch.firstAt - committedAt) / 1000 : null,
        notified: batch.received,
        notDone: batch.notDone,
        timedOut: outcome.timedOut,
        stalled: outcome.stalled ?? false,
        finishedInTable: await finishedCount(admin),
        states: await stateCounts(admin),
        maxRssKb: sampler?.maxRssKb ?? 0,
        hwmKb: daemon.pid ? memoryKb(daemon.pid).hwm : 0,
        cpu: cpuSplit(cpuBefore, cpuAfter),
        target: targetTimeline(await targetRequest('/__stats'), committedAtWall),
        statements: await daemonStatements(admin, 6),
    };
    details(`\n### ${label}\n`
        + `- ${jobs} rows inserted in ${result.insertSeconds.toFixed(3)} s;`
        + ` first result ${result.firstResultSeconds?.toFixed(3)} s after commit;`
        + ` last after ${seconds.toFixed(3)} s${result.timedOut ? ' (TIMED OUT)' : ''}\n`
        + `- output NOTIFYs ${result.notified}, not done ${result.notDone};`
        + ` rows finished in table ${result.finishedInTable};`
        + ` states ${stateCountsText(result.states)}\n`
        + (daemon.pid ? `- daemon memory: max sampled VmRSS ${(result.maxRssKb / 1024).toFixed(0)}`
            + ` MB, VmHWM ${(result.hwmKb / 1024).toFixed(0)} MB\n` : '')
        + targetTimelineText(result.target) + '\n'
        + cpuSplitText(result.cpu) + '\n'
        + statementsText(result.statements));
    return result;
}

/** Waits for the batch's last NOTIFY, counting rows in SQL now and then to notice lost ones. */
async function waitForBatch(admin, daemon, batch, finished, jobs, timeoutMs) {
    const began = performance.now();
    const deadline = began + timeoutMs;
    let done = false;
    finished.then(() => {
        done = true;
    });
    while (!done && performance.now() < deadline) {
        if (performance.now() - (batch.lastAt ?? began) > STALL_MS) {
            return { timedOut: true, stalled: true };
        }
        const pause = Math.min(COUNT_POLL_MS, deadline - performance.now());
        await Promise.race([finished, sleep(pause), daemon.exited]);
        if (done) break;
        daemon.checkAlive();
        const inTable = await finishedCount(admin);
        if (inTable >= jobs && batch.received < jobs) {
            // Every row is finished, so the missing NOTIFYs are not coming; give them a moment.
            await Promise.race([finished, sleep(1_000)]);
            return { timedOut: false, missingNotifies: jobs - batch.received };
        }
    }
    return { timedOut: !done };
}

/** One job at a time: INSERT sent → its ipo_output NOTIFY received, in milliseconds. */
async function runSequential({ admin, writer, listener, daemon, jobs, label }) {
    await resetDatabase(admin);
    const cpuBefore = cpuSnapshot(daemon);
    const latencies = [];
    const commits = [];
    let timeouts = 0;
    const budgetEnds = performance.now() + SEQUENTIAL_BUDGET_MS;
    for (let i = 0; i < jobs && performance.now() < budgetEnds; i++) {
        daemon.checkAlive();
        const sentAt = performance.now();
        const inserted = await writer.query(
            'INSERT INTO ipo_flower (url) VALUES ($1) RETURNING id', [fastUrl]);
        const committedAt = performance.now();
        const arrivedAt = await listener.arrivalOf(
            Number(inserted.rows[0].id), SEQUENTIAL_JOB_TIMEOUT_MS);
        if (arrivedAt === null) {
            timeouts += 1;
            continue;
        }
        latencies.push(arrivedAt - sentAt);
        commits.push(committedAt - sentAt);
    }
    const cpuAfter = cpuSnapshot(daemon);
    const result = {
        jobs: latencies.length,
        timeouts,
        p50: percentile(latencies, 50),
        p90: percentile(latencies, 90),
        p99: percentile(latencies, 99),
        max: Math.max(...latencies),
        commitP50: percentile(commits, 50),
        states: await stateCounts(admin),
        cpu: cpuSplit(cpuBefore, cpuAfter),
        statements: await daemonStatements(admin, 6),
    };
    details(`\n### ${label}\n`
        + `- ${result.jobs} jobs measured, ${timeouts} without a NOTIFY within`
        + ` ${SEQUENTIAL_JOB_TIMEOUT_MS} ms; states ${stateCountsText(result.states)}\n`
        + `- INSERT sent → NOTIFY: p50 ${result.p50.toFixed(2)} ms, p90 ${result.p90.toFixed(2)}`
        + ` ms, p99 ${result.p99.toFixed(2)} ms, max ${result.max.toFixed(2)} ms;`
        + ` of which the INSERT's own commit p50 ${result.commitP50.toFixed(2)} ms\n`
        + cpuSplitText(result.cpu) + '\n'
        + statementsText(result.statements));
    return result;
}

function percentile(values, p) {
    if (values.length === 0) return NaN;
    const sorted = [...values].sort((a, b) => a - b);
    const rank = Math.ceil((p / 100) * sorted.length);
    return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** No jobs: the daemon's CPU and the queries it sends while it only waits. */
async function runIdle({ admin, daemon, label }) {
    await resetDatabase(admin);
    await sleep(IDLE_SETTLE_MS);
    await admin.query('SELECT pg_stat_statements_reset()');
    const commitsBefore = await databaseCommits(admin);
    const cpuBefore = cpuSnapshot(daemon);
    await sleep(IDLE_WINDOW_MS);
    daemon.checkAlive();
    const cpuAfter = cpuSnapshot(daemon);
    const commitsAfter = await databaseCommits(admin);
    const calls = await daemonStatementCalls(admin);
    const split = cpuSplit(cpuBefore, cpuAfter);
    const result = {
        seconds: split.wallSeconds,
        cpuPercent: (100 * split.daemonSeconds) / split.wallSeconds,
        queriesPerSecond: calls / split.wallSeconds,
        // The counter includes this client's own reads of it and lags up to a second.
        commitsPerSecond: (commitsAfter - commitsBefore) / split.wallSeconds,
        cpu: split,
        statements: await daemonStatements(admin, 10),
    };
    details(`\n### ${label}\n`
        + `- daemon CPU ${result.cpuPercent.toFixed(2)} % of one core;`
        + ` daemon statements ${result.queriesPerSecond.toFixed(2)}/s;`
        + ` database commits ${result.commitsPerSecond.toFixed(2)}/s (all clients)\n`
        + cpuSplitText(result.cpu) + '\n'
        + statementsText(result.statements));
    return result;
}

async function databaseCommits(admin) {
    // PostgreSQL 15 flushes a backend's counters at most once a second; clear our own first.
    await admin.query('SELECT pg_stat_clear_snapshot()');
    const result = await admin.query(
        'SELECT xact_commit::bigint AS commits FROM pg_stat_database WHERE datname = $1',
        [settings.database]);
    return Number(result.rows[0].commits);
}

/**
 * 100,000 rows inserted while the daemon is stopped, then the daemon started. The drain is timed
 * from the daemon's spawn (JVM start included) and from its first stored result.
 */
async function runBacklog({ admin, listener, daemon, label }) {
    const stop = await daemon.stop();
    await resetDatabase(admin);
    const insertBegan = performance.now();
    await admin.query(
        'INSERT INTO ipo_flower (url) SELECT $1 FROM generate_series(1, $2)',
        [fastUrl, BACKLOG_JOBS]);
    const insertSeconds = (performance.now() - insertBegan) / 1000;
    await admin.query('CHECKPOINT');
    await admin.query('SELECT pg_stat_statements_reset()');

    const { batch, finished } = listener.expect(BACKLOG_JOBS);
    await targetRequest('/__reset');
    const cpuBefore = cpuSnapshot(daemon);
    const spawnedAtWall = Date.now();
    const spawnedAt = daemon.start();
    const readyAt = await daemon.waitReady();
    const sampler = startMemorySampler(daemon.pid);
    // The daemon was not running when cpuBefore was read; its whole life counts.
    const outcome = await waitForBatch(admin, daemon, batch, finished, BACKLOG_JOBS, 300_000);
    listener.endBatch();
    clearInterval(sampler.timer);
    const cpuAfter = cpuSnapshot(daemon);

    const lastAt = batch.lastAt ?? performance.now();
    const result = {
        jobs: BACKLOG_JOBS,
        previousStopSeconds: stop.seconds,
        insertSeconds,
        readySeconds: (readyAt - spawnedAt) / 1000,
        firstResultSeconds: batch.firstAt ? (batch.firstAt - spawnedAt) / 1000 : null,
        fromStartSeconds: (lastAt - spawnedAt) / 1000,
        fromFirstSeconds: batch.firstAt ? (lastAt - batch.firstAt) / 1000 : null,
        notified: batch.received,
        notDone: batch.notDone,
        timedOut: outcome.timedOut,
        stalled: outcome.stalled ?? false,
        states: await stateCounts(admin),
        maxRssKb: sampler.maxRssKb,
        hwmKb: memoryKb(daemon.pid).hwm,
        cpu: cpuSplit(cpuBefore, cpuAfter),
        target: targetTimeline(await targetRequest('/__stats'), spawnedAtWall),
        statements: await daemonStatements(admin, 6),
    };
    result.ratePerSecondFromStart = batch.received / result.fromStartSeconds;
    result.ratePerSecondFromFirst = batch.firstAt ? batch.received / result.fromFirstSeconds : 0;
    details(`\n### ${label}\n`
        + `- ${BACKLOG_JOBS} rows inserted in ${insertSeconds.toFixed(2)} s with the daemon stopped`
        + ` (its graceful stop took ${stop.seconds.toFixed(2)} s)\n`
        + `- daemon spawned → Camel started ${result.readySeconds.toFixed(2)} s → first result`
        + ` ${result.firstResultSeconds?.toFixed(2)} s → last result`
        + ` ${result.fromStartSeconds.toFixed(2)} s${result.timedOut ? ' (TIMED OUT)' : ''}\n`
        + `- drain ${result.ratePerSecondFromFirst.toFixed(0)} jobs/s from the first result,`
        + ` ${result.ratePerSecondFromStart.toFixed(0)} jobs/s from the spawn\n`
        + `- output NOTIFYs ${result.notified}, not done ${result.notDone};`
        + ` states ${stateCountsText(result.states)}\n`
        + `- daemon memory: max sampled VmRSS ${(result.maxRssKb / 1024).toFixed(0)} MB,`
        + ` VmHWM ${(result.hwmKb / 1024).toFixed(0)} MB\n`
        + targetTimelineText(result.target).replace('after commit', 'after the spawn') + '\n'
        + cpuSplitText(result.cpu) + '\n'
        + statementsText(result.statements));
    return result;
}

/** Wakes the JIT and the connection pools so the first measured scenario is not a cold start. */
async function warmUp({ admin, writer, listener, daemon }) {
    await runBatch({ admin, listener, daemon, url: fastUrl, jobs: WARMUP_BATCH_JOBS,
        timeoutMs: 60_000, label: 'warm-up: fast batch (not measured)' });
    await runSequential({ admin, writer, listener, daemon, jobs: WARMUP_SEQUENTIAL_JOBS,
        label: 'warm-up: sequential (not measured)' });
}

// ---------------------------------------------------------------------------------------------
// One round, and the table of medians

function wanted(name) {
    return settings.only.length === 0 || settings.only.includes(name);
}

async function runRound(round, clients) {
    const { admin, writer, listener } = clients;
    const daemon = new Daemon(round);
    const context = { admin, writer, listener, daemon };
    const results = {};
    details(`\n## Run ${round}\n`);
    const scenarios = [
        { name: 'fast', title: `${FAST_JOBS} fast jobs in one INSERT`,
            run: () => runBatch({ ...context, url: fastUrl, jobs: FAST_JOBS, timeoutMs: 120_000,
                label: `${FAST_JOBS} fast jobs, one INSERT` }) },
        { name: 'latency', title: `${SEQUENTIAL_JOBS} sequential jobs`,
            run: () => runSequential({ ...context, jobs: SEQUENTIAL_JOBS,
                label: `${SEQUENTIAL_JOBS} sequential jobs` }) },
        { name: 'slow1k', title: `${SLOW_SMALL_JOBS} jobs answering after ${SLOW_DELAY_MS} ms`,
            run: () => runBatch({ ...context, url: slowUrl, jobs: SLOW_SMALL_JOBS,
                timeoutMs: 60_000, label: `${SLOW_SMALL_JOBS} jobs of ${SLOW_DELAY_MS} ms` }) },
        { name: 'slow10k', title: `${SLOW_LARGE_JOBS} jobs answering after ${SLOW_DELAY_MS} ms`,
            run: () => runBatch({ ...context, url: slowUrl, jobs: SLOW_LARGE_JOBS,
                timeoutMs: 120_000, label: `${SLOW_LARGE_JOBS} jobs of ${SLOW_DELAY_MS} ms` }) },
        { name: 'idle', title: `idle for ${IDLE_WINDOW_MS / 1000} s`,
            run: () => runIdle({ ...context, label: 'idle' }) },
        // Last, because it stops and restarts the daemon.
        { name: 'backlog', title: `backlog of ${BACKLOG_JOBS} rows, then daemon start`,
            run: () => runBacklog({ ...context, label: `backlog of ${BACKLOG_JOBS} fast jobs` }) },
    ];
    try {
        const spawnedAt = daemon.start();
        const readyAt = await daemon.waitReady();
        results.startSeconds = (readyAt - spawnedAt) / 1000;
        details(`- daemon pid ${daemon.pid} ready`
            + ` ${results.startSeconds.toFixed(2)} s after spawn`);
        progress(`run ${round}: daemon ready in ${results.startSeconds.toFixed(1)} s; warming up`);
        await warmUp(context);

        for (const scenario of scenarios) {
            if (!wanted(scenario.name)) continue;
            await waitForQuiet(daemon, scenario.name);
            progress(`run ${round}: ${scenario.title}`);
            results[scenario.name] = await scenario.run();
        }
    } finally {
        const stop = await daemon.stop();
        if (stop.killed) details(`- the daemon did not stop within ${DAEMON_STOP_TIMEOUT_MS} ms`);
        results.stopSeconds = stop.seconds;
        results.stopKilled = stop.killed;
    }
    return results;
}

/**
 * Waits, at most BENCH_QUIET_WAIT seconds, until processes outside the benchmark leave the
 * machine nearly idle, so that another user's build does not land in a measurement.
 */
async function waitForQuiet(daemon, name) {
    if (QUIET_WAIT_MS === 0) return;
    const began = performance.now();
    while (performance.now() - began < QUIET_WAIT_MS) {
        const before = cpuSnapshot(daemon);
        await sleep(QUIET_SAMPLE_MS);
        const split = cpuSplit(before, cpuSnapshot(daemon));
        if (split.otherSeconds / (split.wallSeconds * os.cpus().length) < OTHER_LOAD_WARNING) {
            return;
        }
    }
    progress(`  the machine stayed busy for ${QUIET_WAIT_MS / 1000} s; running ${name} anyway`);
}

function median(values) {
    const present = values.filter((value) => Number.isFinite(value));
    if (present.length === 0) return NaN;
    const sorted = [...present].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function format(value, digits) {
    if (!Number.isFinite(value)) return '–';
    return value.toLocaleString('en-US', {
        minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** The rows of the table: what is measured, its target, and how to read it from a round. */
const METRICS = [
    { scenario: `${FAST_JOBS.toLocaleString('en-US')} fast GETs, one INSERT`,
        measure: 'jobs/s, insert commit → last output NOTIFY', target: '≥ 2,000', digits: 0,
        read: (r) => r.fast?.jobsPerSecond, timedOut: (r) => r.fast?.timedOut },
    { scenario: `${SEQUENTIAL_JOBS} sequential jobs`,
        measure: 'p50 ms, INSERT sent → output NOTIFY', target: '≤ 5', digits: 1,
        read: (r) => r.latency?.p50, timedOut: (r) => r.latency?.timeouts > 0 },
    { scenario: '', measure: 'p99 ms, INSERT sent → output NOTIFY', target: '≤ 20', digits: 1,
        read: (r) => r.latency?.p99, timedOut: (r) => r.latency?.timeouts > 0 },
    { scenario: `${SLOW_SMALL_JOBS.toLocaleString('en-US')} jobs answering after 1 s`,
        measure: 's, insert commit → last output NOTIFY', target: '≤ 1.2', digits: 2,
        read: (r) => r.slow1k?.seconds, timedOut: (r) => r.slow1k?.timedOut },
    { scenario: `${SLOW_LARGE_JOBS.toLocaleString('en-US')} jobs answering after 1 s`,
        measure: 's, insert commit → last output NOTIFY', target: '≤ 3', digits: 2,
        read: (r) => r.slow10k?.seconds, timedOut: (r) => r.slow10k?.timedOut },
    { scenario: '', measure: 'daemon peak RSS, MB (VmHWM since daemon start)', target: '< 512',
        digits: 0, read: (r) => (r.slow10k ? r.slow10k.hwmKb / 1024 : undefined) },
    { scenario: `backlog of ${BACKLOG_JOBS.toLocaleString('en-US')} fast rows`,
        measure: 'jobs/s, first stored result → last', target: '–', digits: 0,
        read: (r) => r.backlog?.ratePerSecondFromFirst, timedOut: (r) => r.backlog?.timedOut },
    { scenario: '', measure: 'jobs/s, daemon spawn (JVM start included) → last', target: '–',
        digits: 0, read: (r) => r.backlog?.ratePerSecondFromStart,
        timedOut: (r) => r.backlog?.timedOut },
    { scenario: '', measure: 'daemon peak RSS, MB (VmHWM)', target: '< 512', digits: 0,
        read: (r) => (r.backlog ? r.backlog.hwmKb / 1024 : undefined) },
    { scenario: `idle ${IDLE_WINDOW_MS / 1000} s, no jobs`,
        measure: 'daemon CPU, % of one core', target: '≈ 0', digits: 2,
        read: (r) => r.idle?.cpuPercent },
    { scenario: '', measure: 'daemon statements/s (pg_stat_statements)', target: 'a few',
        digits: 1, read: (r) => r.idle?.queriesPerSecond },
    { scenario: '', measure: 'database commits/s (pg_stat_database, all clients)', target: '–',
        digits: 1, read: (r) => r.idle?.commitsPerSecond },
];

function table(rounds) {
    const lines = [
        '| scenario | measure | target | median | each run |',
        '| --- | --- | ---: | ---: | --- |',
    ];
    for (const metric of METRICS) {
        const values = rounds.map((round) => metric.read(round));
        if (values.every((value) => value === undefined)) continue;
        const each = rounds.map((round, i) => format(values[i], metric.digits)
            + (metric.timedOut?.(round) ? ' (timeout)' : '')).join(' / ');
        lines.push(`| ${metric.scenario} | ${metric.measure} | ${metric.target}`
            + ` | ${format(median(values), metric.digits)} | ${each} |`);
    }
    return lines.join('\n');
}

function anomalies(rounds) {
    const lines = [];
    rounds.forEach((round, i) => {
        for (const name of ['fast', 'slow1k', 'slow10k', 'backlog']) {
            const result = round[name];
            if (!result) continue;
            const finished = result.states
                .filter((row) => row.state === 'done' && row.status_code === 200)
                .reduce((sum, row) => sum + row.jobs, 0);
            if (result.timedOut || finished !== result.jobs || result.notified !== result.jobs) {
                lines.push(`- run ${i + 1} ${name}: ${result.notified}/${result.jobs} NOTIFYs,`
                    + ` ${finished} done with 200; states ${stateCountsText(result.states)}`
                    + (result.stalled ? `; stalled: no result for ${STALL_MS / 1000} s` : '')
                    + (result.timedOut && !result.stalled ? '; timed out' : ''));
            }
        }
        if (round.latency?.timeouts > 0) {
            lines.push(`- run ${i + 1} latency: ${round.latency.timeouts} jobs without a NOTIFY`
                + ` within ${SEQUENTIAL_JOB_TIMEOUT_MS} ms`);
        }
        for (const name of ['fast', 'latency', 'slow1k', 'slow10k', 'idle', 'backlog']) {
            const cpu = round[name]?.cpu;
            if (!cpu) continue;
            const share = cpu.otherSeconds / (cpu.wallSeconds * os.cpus().length);
            if (share > OTHER_LOAD_WARNING) {
                lines.push(`- run ${i + 1} ${name}: other processes used`
                    + ` ${(100 * share).toFixed(0)} % of the machine meanwhile: skewed`);
            }
        }
        if (round.stopKilled) lines.push(`- run ${i + 1}: the daemon ignored SIGTERM; killed`);
        if (round.error) lines.push(`- run ${i + 1} failed: ${round.error.split('\n')[0]}`);
    });
    for (const [key, seen] of daemonLogProblems()) {
        const example = seen.example.slice(0, 300);
        lines.push(`- daemon log, ${seen.count}×: ${key}\n  e.g. \`${example}\``);
    }
    return lines;
}

function machineLine() {
    const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
    const memoryGb = (os.totalmem() / 2 ** 30).toFixed(0);
    const load = os.loadavg().map((value) => value.toFixed(2)).join(' ');
    return `nproc ${os.availableParallelism?.() ?? os.cpus().length}; ${cpu}; ${memoryGb} GiB;`
        + ` load average at start ${load}`;
}

async function main() {
    fs.mkdirSync(settings.outDir, { recursive: true });
    const startedAt = new Date();
    const header = [
        `# IPO benchmark, ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
        '',
        `- command: \`${settings.command}\` (from the project root)`,
        `- machine: ${machineLine()}`,
        `- PostgreSQL 15: default settings${env.BENCH_PG_SETTINGS
            ? ` except ${env.BENCH_PG_SETTINGS}` : ''} (synchronous_commit on unless listed)`,
        `- between scenarios: TRUNCATE ipo_flower CASCADE`
            + (ANALYZE_AFTER_TRUNCATE ? ', then ANALYZE of the empty tables' : ' (no ANALYZE)'),
        `- daemon: target/ipo.jar built ${env.BENCH_JAR_TIME ?? '?'}, run as`
            + ` \`java ${[...settings.javaOptions, '-jar', 'target/ipo.jar'].join(' ')}\``,
        `- ${settings.runs} run(s); each starts a fresh daemon, warms it up with`
            + ` ${WARMUP_BATCH_JOBS} + ${WARMUP_SEQUENTIAL_JOBS} jobs, then runs the scenarios`,
    ].join('\n');
    fs.writeFileSync(detailsPath, header + '\n');

    const admin = client(settings.adminUser);
    const writer = client(settings.adminUser);
    const listenConnection = client(settings.adminUser);
    await Promise.all([admin.connect(), writer.connect(), listenConnection.connect()]);
    const listener = new OutputListener(listenConnection);

    await listener.start();

    const rounds = [];
    try {
        for (let round = 1; round <= settings.runs; round++) {
            try {
                rounds.push(await runRound(round, { admin, writer, listener }));
            } catch (error) {
                progress(`run ${round} failed: ${error.message}`);
                details(`\n- run ${round} FAILED: ${error.stack}`);
                rounds.push({ error: String(error.message) });
            }
        }
    } finally {
        await Promise.allSettled([admin.end(), writer.end(), listenConnection.end()]);
    }

    const problems = anomalies(rounds);
    const summary = [
        header,
        '',
        table(rounds.filter((round) => !round.error).length ? rounds : []),
        '',
        problems.length ? '## What looked wrong\n\n' + problems.join('\n') : 'Nothing looked wrong:'
            + ' every job ended done with status 200 and the daemon logged no WARN or ERROR.',
        '',
        `Details per scenario (CPU split, busiest threads, daemon SQL): ${detailsPath}`,
    ].join('\n');
    fs.writeFileSync(summaryPath, summary + '\n');
    fs.writeFileSync(resultsPath, JSON.stringify(rounds, null, 2));
    process.stdout.write('\n' + summary + '\n');
    if (rounds.every((round) => round.error)) process.exitCode = 1;
}

process.on('SIGTERM', () => process.exit(143));
process.on('SIGINT', () => process.exit(130));
process.on('exit', () => {
    // If the benchmark dies mid-round, take the daemon down with it.
    try {
        const pid = Number(fs.readFileSync(daemonPidFile, 'utf8'));
        if (pid) process.kill(pid, 'SIGKILL');
    } catch {
        // No daemon running.
    }
});

await main();
