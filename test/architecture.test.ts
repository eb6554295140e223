/**
 * The layers' arrows, read from the imports themselves (static and dynamic): a wrong arrow fails here.
 *
 *   core ← indicators ← strategy ← config ← engine        brokers/sim, brokers/bybit: the broker port
 *   data, report, sandbox, testkit                         cli: the only place that wires; bin: only cli
 */
import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { REPO } from './helpers.ts';

interface Edge {
  readonly from: string; // repo-relative file
  readonly spec: string; // as written
  readonly target?: string; // repo-relative resolved file, for relative specifiers
}

function files(dir: string, exts = /\.(ts|mjs|js)$|^pyr$/): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) out.push(...files(p, exts));
    else if (exts.test(e)) out.push(p);
  }
  return out;
}

function edgesOf(file: string): Edge[] {
  const text = readFileSync(file, 'utf8')
    // comments are not imports
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const out: Edge[] = [];
  const re = /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;
  for (const m of text.matchAll(re)) {
    const spec = m[1] ?? m[2] ?? m[3]!;
    const from = path.relative(REPO, file);
    out.push({ from, spec, target: spec.startsWith('.') ? path.relative(REPO, path.resolve(path.dirname(file), spec)) : undefined });
  }
  return out;
}

/** The layer of a repo-relative path: lib/<folder> (brokers/<name>), or the top-level folder. */
function layerOf(rel: string): string {
  const parts = rel.split(path.sep);
  if (parts[0] === 'lib') return parts[1] === 'brokers' ? `brokers/${parts[2]}` : parts.length === 2 ? 'lib/index' : parts[1]!;
  if (parts[0] === 'dist' && parts[1] === 'lib') return parts[2] === 'brokers' ? `brokers/${parts[3]}` : parts[2]!;
  return parts[0]!;
}

const all: Edge[] = [...files(path.join(REPO, 'lib')), ...files(path.join(REPO, 'strategies')), ...files(path.join(REPO, 'bin'))].flatMap(edgesOf);
const internal = all.filter((e) => e.target !== undefined);
const fromLayer = (layer: string) => internal.filter((e) => layerOf(e.from) === layer);
const wrong = (edges: Edge[], allowed: readonly string[]) => edges.filter((e) => !allowed.includes(layerOf(e.target!))).map((e) => `${e.from} → ${e.spec}`);

describe('architecture: the direction of the imports', () => {
  it('reads the imports (the check itself works)', () => {
    expect(all.length).to.be.greaterThan(100);
    expect(internal.some((e) => e.from === path.join('lib', 'engine', 'engine.ts') && layerOf(e.target!) === 'core')).to.equal(true);
    expect(all.some((e) => e.spec === 'bybit-api')).to.equal(true);
  });

  it('core imports nothing of lib', () => {
    expect(wrong(fromLayer('core'), ['core'])).to.deep.equal([]);
  });

  it('indicators import only core', () => {
    expect(wrong(fromLayer('indicators'), ['core', 'indicators'])).to.deep.equal([]);
  });

  it('strategy imports only core and indicators', () => {
    expect(wrong(fromLayer('strategy'), ['core', 'indicators', 'strategy'])).to.deep.equal([]);
  });

  it('config is pure: it imports only core and strategy, and no file, network or process module', () => {
    expect(wrong(fromLayer('config'), ['core', 'strategy', 'config'])).to.deep.equal([]);
    const io = all.filter((e) => layerOf(e.from) === 'config' && /^(node:)?(fs|fs\/promises|child_process|http|https|net|worker_threads)$/.test(e.spec));
    expect(io.map((e) => `${e.from} → ${e.spec}`)).to.deep.equal([]);
  });

  it('engine never imports brokers, data, report or cli', () => {
    expect(fromLayer('engine').filter((e) => /^(brokers\/|data$|report$|cli$|sandbox$|testkit$)/.test(layerOf(e.target!))).map((e) => `${e.from} → ${e.spec}`)).to.deep.equal([]);
  });

  it('report never imports data, indicators, brokers or cli', () => {
    expect(fromLayer('report').filter((e) => /^(brokers\/|data$|indicators$|cli$)/.test(layerOf(e.target!))).map((e) => `${e.from} → ${e.spec}`)).to.deep.equal([]);
  });

  it('the brokers never import each other', () => {
    expect(wrong(fromLayer('brokers/sim'), ['core', 'config', 'brokers/sim'])).to.deep.equal([]);
    expect(fromLayer('brokers/bybit').filter((e) => layerOf(e.target!).startsWith('brokers/') && layerOf(e.target!) !== 'brokers/bybit').map((e) => e.from)).to.deep.equal([]);
  });

  it('only lib/brokers/bybit imports bybit-api', () => {
    expect(all.filter((e) => e.spec === 'bybit-api' && layerOf(e.from) !== 'brokers/bybit').map((e) => e.from)).to.deep.equal([]);
  });

  it('only cli is imported by bin/pyr, and nothing but cli imports cli', () => {
    // bin/build-stamp.mjs is a build step (it records the built-in strategies' list), not the command.
    const bin = internal.filter((e) => e.from === path.join('bin', 'pyr'));
    expect(bin.length).to.be.greaterThan(0);
    expect(bin.filter((e) => layerOf(e.target!) !== 'cli').map((e) => `${e.from} → ${e.spec}`)).to.deep.equal([]);
    expect(internal.filter((e) => layerOf(e.target!) === 'cli' && !['cli', 'bin'].includes(layerOf(e.from))).map((e) => `${e.from} → ${e.spec}`)).to.deep.equal([]);
  });

  it('the local exchange stands alone: it imports only core (and the fee defaults of config)', () => {
    expect(wrong(fromLayer('sandbox'), ['core', 'config', 'sandbox'])).to.deep.equal([]);
  });

  it('the sweep machinery (lib/sweep) and the test kit never import cli', () => {
    expect(internal.filter((e) => ['sweep', 'testkit'].includes(layerOf(e.from)) && layerOf(e.target!) === 'cli').map((e) => `${e.from} → ${e.spec}`)).to.deep.equal([]);
    expect(fromLayer('sweep').length).to.be.greaterThan(0);
  });

  it('strategies use the public API only (strategy and indicators)', () => {
    expect(wrong(fromLayer('strategies'), ['strategy', 'indicators', 'core', 'strategies'])).to.deep.equal([]);
  });
});
