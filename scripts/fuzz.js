'use strict';
// `npm run fuzz [-- <seconds per harness>] [--only frames,inflate]`: builds the libFuzzer
// harnesses of native/fuzz (clang, ASan+UBSan, in build-fuzz/) and runs each one for the given
// time (default 300 s), two at a time. The committed seeds in native/fuzz/corpus/<harness>/ are
// only read; what libFuzzer adds goes to build-fuzz/corpus/<harness>/ and is kept between runs.
// A crash, a sanitizer report or a broken invariant fails the run and leaves the input in
// build-fuzz/findings/<harness>-crash-<sha1>, with the command that replays it.
// scripts/test.js runs this with --ci in CI: 20 s each from a fixed seed, so a fresh clone's run
// is repeatable (a regression check of the seeds and the harnesses). Finding new inputs is what
// the longer, randomly seeded default run is for.
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.join(__dirname, '..');
const buildDir = path.join(root, 'build-fuzz');
const seedRoot = path.join(root, 'native', 'fuzz', 'corpus');
const harnesses = fs.readdirSync(seedRoot).filter((h) => fs.existsSync(path.join(root, 'native', 'fuzz', `fuzz_${h}.cpp`)));

function parseArgs(argv) {
  const opts = { seconds: 300, only: null, parallel: 2, seed: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--ci') Object.assign(opts, { seconds: 20, seed: 1 });
    else if (a === '--only') opts.only = argv[++i].split(',');
    else if (a === '--parallel') opts.parallel = Number(argv[++i]);
    else if (/^\d+$/.test(a)) opts.seconds = Number(a);
    else {
      console.error(`fuzz: unknown argument ${a}; usage: node scripts/fuzz.js [seconds] [--only a,b] [--parallel n] [--ci]`);
      process.exit(2);
    }
  }
  if (opts.only) {
    for (const h of opts.only) {
      if (!harnesses.includes(h)) {
        console.error(`fuzz: no harness ${h}; there are: ${harnesses.join(', ')}`);
        process.exit(2);
      }
    }
  }
  return opts;
}

function run(what, cmd, args) {
  const started = Date.now();
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, env: { ...process.env, CCACHE_BASEDIR: process.env.CCACHE_BASEDIR || root } });
  if (r.status !== 0) {
    console.error(`fuzz: ${what} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
  return Date.now() - started;
}

function build() {
  const clang = spawnSync('clang++', ['--version'], { encoding: 'utf8' });
  if (clang.status !== 0) {
    console.error('fuzz: clang++ is missing; install clang and libfuzzer-14-dev (Debian: apt-get install clang libfuzzer-14-dev)');
    process.exit(2);
  }
  const ms = run('configure', 'cmake', ['-S', '.', '-B', buildDir, '-DCMAKE_CXX_COMPILER=clang++', '-DRWS_FUZZ=ON',
    '-DRWS_BUILD_ADDON=OFF', '-DCMAKE_BUILD_TYPE=RelWithDebInfo']) +
    run('build', 'cmake', ['--build', buildDir, '--parallel', '2', '--target', 'fuzzers']);
  console.log(`fuzz: built in ${(ms / 1000).toFixed(1)} s`);
}

// One harness for `seconds`; resolves with { harness, ok, runs, log }.
function fuzzOne(harness, seconds, seed, tmp) {
  const work = path.join(buildDir, 'corpus', harness);
  const findings = path.join(buildDir, 'findings');
  fs.mkdirSync(work, { recursive: true });
  fs.mkdirSync(findings, { recursive: true });
  const exe = path.join(buildDir, `fuzz_${harness}`);
  const args = [work, path.join(seedRoot, harness), `-max_total_time=${seconds}`, '-timeout=10', '-rss_limit_mb=2048',
    `-artifact_prefix=${path.join(findings, `${harness}-`)}`, '-print_final_stats=1'];
  if (seed !== null) args.push(`-seed=${seed}`);
  return new Promise((resolve) => {
    const child = spawn(exe, args, {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Outbox recovery writes its segment files under TMPDIR; removed with `tmp` afterwards.
      env: { ...process.env, TMPDIR: tmp, ASAN_OPTIONS: 'detect_leaks=1', UBSAN_OPTIONS: 'print_stacktrace=1' },
    });
    let log = '';
    child.stdout.on('data', (d) => { log += d; });
    child.stderr.on('data', (d) => { log += d; });
    const killer = setTimeout(() => child.kill('SIGKILL'), (seconds + 120) * 1000);  // a hang of libFuzzer itself
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      const runs = /Done (\d+) runs/.exec(log);
      resolve({ harness, ok: code === 0, code: code ?? signal, runs: runs ? Number(runs[1]) : 0, log, exe });
    });
  });
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  build();
  const list = opts.only || harnesses;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rws-fuzz-'));
  const started = Date.now();
  const results = [];
  try {
    const queue = [...list];
    const workers = Array.from({ length: Math.max(1, Math.min(opts.parallel, queue.length)) }, async () => {
      while (queue.length) {
        const h = queue.shift();
        const r = await fuzzOne(h, opts.seconds, opts.seed, tmp);
        console.log(`fuzz: ${h}: ${r.ok ? 'ok' : 'FAILED'}, ${r.runs} runs in ${opts.seconds} s`);
        results.push(r);
      }
    });
    await Promise.all(workers);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`fuzz: ${list.length} harnesses in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const failed = results.filter((r) => !r.ok);
  for (const r of failed) {
    const lines = r.log.split('\n');
    const first = lines.findIndex((l) => /==FUZZ INVARIANT==|runtime error:|ERROR: AddressSanitizer|ERROR: libFuzzer|ERROR: LeakSanitizer/.test(l));
    console.error(`\n== fuzz_${r.harness} failed (exit ${r.code}):`);
    console.error(lines.slice(Math.max(0, first), first + 40).join('\n'));
    const artifact = /Test unit written to (\S+)/.exec(r.log);
    if (artifact) console.error(`replay: ${path.relative(root, r.exe)} ${path.relative(root, artifact[1])}`);
  }
  if (failed.length) {
    console.error(`\nfuzz: ${failed.length} of ${list.length} harnesses failed: ${failed.map((r) => r.harness).join(', ')}`);
    process.exit(1);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
