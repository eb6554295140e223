/**
 * `pyr strategies`: the shipped strategies are "(built-in)", the user's own are labelled by their path;
 * parameter columns line up across every table; a strategy file that fails to load is reported, one line
 * naming it, after the others are listed, and the command exits 2.
 */
import { expect } from 'chai';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, tempDir } from '../helpers.ts';

interface Spec {
  default: unknown;
  description: string;
}

describe('pyr strategies', function () {
  this.timeout(60_000);
  const tmp = tempDir('pyr-strategies-');
  after(() => tmp.cleanup());
  let n = 0;
  const fresh = async (names: string[]) => {
    const dir = path.join(tmp.dir, `user-${++n}`);
    mkdirSync(dir);
    for (const name of names) expect((await runCli(['new', 'strategy', name], dir)).code).to.equal(0);
    return dir;
  };

  it('labels the shipped strategies (built-in) and the local ones by their path', async () => {
    const dir = await fresh(['my-edge']);
    const r = await runCli(['strategies'], dir);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.equal('');
    const heads = r.stdout.split('\n').filter((l) => /^\S+ \(/.test(l)).map((l) => l.slice(0, l.indexOf(':')));
    expect(heads).to.deep.equal(['pivot-bounce (built-in)', 'stochrsi-maker (built-in)', 'stochrsi-scalper (built-in)', 'my-edge (strategies/my-edge.ts)']);
  });

  it('lines up the columns of every parameter table: name, default, range, description', async () => {
    const dir = await fresh(['my-edge']);
    const text = await runCli(['strategies'], dir);
    const json = await runCli(['strategies', '--json'], dir);
    expect(text.code, text.stderr).to.equal(0);
    const doc = JSON.parse(json.stdout) as { strategies: { params: Record<string, Spec> }[]; runParams: Record<string, Spec> };
    const specs = [...doc.strategies.map((s) => s.params), doc.runParams].flatMap((p) => Object.entries(p));
    const rows = text.stdout.split('\n').filter((l) => l.startsWith('    '));
    expect(rows).to.have.length(specs.length);
    const valueAt = new Set<number>();
    const descriptionAt = new Set<number>();
    rows.forEach((row, i) => {
      const [key, spec] = specs[i]!;
      expect(row.startsWith(`    ${key} `), row).to.equal(true);
      valueAt.add(row.indexOf(` ${JSON.stringify(spec.default)}`, 4 + key.length) + 1);
      expect(row.endsWith(spec.description), row).to.equal(true);
      descriptionAt.add(row.length - spec.description.length);
    });
    // The longest name (pollingIntervalSeconds) included: one column each.
    expect([...valueAt], 'default column').to.have.length(1);
    expect([...descriptionAt], 'description column').to.have.length(1);
    expect([...valueAt][0]).to.equal(4 + Math.max(...specs.map(([k]) => k.length)) + 2);
  });

  it('a file that fails to load: the others are still listed; one line per bad file names it; exit 2', async () => {
    const dir = await fresh(['alpha', 'omega']);
    writeFileSync(path.join(dir, 'strategies/broken.ts'), "export default {\n  name: 'broken',,\n};\n");
    writeFileSync(path.join(dir, 'strategies/empty.ts'), 'export const nothing = 0;\n');
    const r = await runCli(['strategies'], dir);
    expect(r.code).to.equal(2);
    const heads = r.stdout.split('\n').filter((l) => /^\S+ \(/.test(l)).map((l) => l.slice(0, l.indexOf(' ')));
    expect(heads).to.deep.equal(['pivot-bounce', 'stochrsi-maker', 'stochrsi-scalper', 'alpha', 'omega']);
    expect(r.stdout).to.include('Run parameters (every strategy):');
    expect(r.stderr.split('\n')).to.deep.equal([
      'pyr: strategy strategies/broken.ts, line 2, column 18: does not compile: Expected identifier but found ","',
      'pyr: strategy strategies/empty.ts has no default export: a strategy file must `export default defineStrategy({ name, description, params, warmup, create })`',
      '',
    ]);

    const j = await runCli(['strategies', '--json'], dir);
    expect(j.code).to.equal(2);
    const doc = JSON.parse(j.stdout) as { strategies: { name: string }[]; errors: { file: string; error: string }[] };
    expect(doc.strategies.map((s) => s.name)).to.deep.equal(['pivot-bounce', 'stochrsi-maker', 'stochrsi-scalper', 'alpha', 'omega']);
    expect(doc.errors.map((e) => e.file)).to.deep.equal([path.join(dir, 'strategies/broken.ts'), path.join(dir, 'strategies/empty.ts')]);
    expect(doc.errors[0]!.error).to.include('strategies/broken.ts, line 2, column 18: does not compile');
  });
});
