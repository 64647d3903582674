/**
 * The fuzzers of the test suite (test/helpers/fuzz), run longer: every
 * parser target and every front over real sockets, from one seed that is
 * printed first, so any finding replays exactly.
 * Usage:
 *   npm run build && node dist/scripts/fuzz.js [--runs N] [--seed S] [--target NAME] [--path P] [--list]
 *   --runs   cases per target (default: ten times the target's `npm test` count)
 *   --seed   the seed (default: a random one)
 *   --target only this target (repeatable; --list shows the names)
 *   --path   with --seed and one --target: replay one failing case (fast-check's path)
 */
import fc from 'fast-check';
import { leakedLines, startFronts, type Fronts } from '../test/helpers/fuzz/fronts.js';
import { PARSER_TARGETS } from '../test/helpers/fuzz/parser-targets.js';
import { SOCKET_TARGETS } from '../test/helpers/fuzz/socket-targets.js';

interface Options {
  runs: number | undefined;
  seed: number;
  targets: string[];
  path: string | undefined;
  list: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { runs: undefined, seed: Math.floor(Math.random() * 0x7fffffff), targets: [], path: undefined, list: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    const number = (): number => {
      i++;
      if (value === undefined || !/^-?\d+$/.test(value)) throw new Error(`${flag} needs a whole number`);
      return Number(value);
    };
    if (flag === '--runs') options.runs = number();
    else if (flag === '--seed') options.seed = number();
    else if (flag === '--target') options.targets.push(argv[++i] ?? '');
    else if (flag === '--path') options.path = argv[++i];
    else if (flag === '--list') options.list = true;
    else throw new Error(`unknown argument ${flag} (see the usage at the top of scripts/fuzz.ts)`);
  }
  return options;
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const all = [...PARSER_TARGETS.map((t) => t.name), ...SOCKET_TARGETS.map((t) => t.name)];
  if (options.list) {
    console.log(all.join('\n'));
    return 0;
  }
  const unknown = options.targets.filter((t) => !all.includes(t));
  if (unknown.length > 0) throw new Error(`unknown target ${unknown.join(', ')}; one of: ${all.join(', ')}`);
  const chosen = (name: string) => options.targets.length === 0 || options.targets.includes(name);
  const replay = options.path === undefined ? {} : { path: options.path };
  console.log(`seed ${options.seed}${options.runs === undefined ? '' : `, ${options.runs} runs per target`}`);

  const unhandled: unknown[] = [];
  process.on('unhandledRejection', (reason) => void unhandled.push(reason));
  let failures = 0;
  const report = <T>(name: string, runs: number, started: number, details: fc.RunDetails<T>) => {
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    if (!details.failed) {
      console.log(`ok    ${name}: ${details.numRuns} cases in ${seconds} s`);
      return;
    }
    failures++;
    console.log(`FAIL  ${name} after ${details.numRuns} cases (${seconds} s)`);
    console.log(fc.defaultReportMessage(details));
    if (details.errorInstance !== undefined) console.log(String(details.errorInstance));
    console.log(`replay: node dist/scripts/fuzz.js --target ${name} --seed ${details.seed} --runs ${runs} --path ${JSON.stringify(details.counterexamplePath ?? '')}`);
  };

  for (const target of PARSER_TARGETS.filter((t) => chosen(t.name))) {
    const runs = options.runs ?? target.defaultRuns * 10;
    const started = performance.now();
    report(target.name, runs, started, await fc.check(target.property(), { numRuns: runs, seed: options.seed, ...replay }));
  }

  const sockets = SOCKET_TARGETS.filter((t) => chosen(t.name));
  if (sockets.length > 0) {
    const fronts: Fronts = await startFronts();
    try {
      for (const target of sockets) {
        const runs = options.runs ?? target.defaultRuns * 10;
        const started = performance.now();
        report(target.name, runs, started, await fc.check(target.property(fronts), { numRuns: runs, seed: options.seed, ...replay }));
        try {
          await target.goodLogin(fronts);
        } catch (err) {
          failures++;
          console.log(`FAIL  ${target.name}: the good login after fuzzing failed: ${(err as Error).message}`);
        }
      }
      const leaks = leakedLines(fronts.logLines());
      if (leaks.length > 0) {
        failures++;
        console.log(`FAIL  ${leaks.length} log lines carry a secret, e.g. ${leaks[0]}`);
      } else {
        console.log(`ok    no secret in ${fronts.logLines().length} log lines`);
      }
    } finally {
      await fronts.stop();
    }
  }
  if (unhandled.length > 0) {
    failures++;
    console.log(`FAIL  ${unhandled.length} unhandled rejections, e.g. ${String(unhandled[0])}`);
  }
  console.log(failures === 0 ? `no findings (seed ${options.seed})` : `${failures} findings (seed ${options.seed})`);
  return failures === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(2);
  },
);
