import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCandles } from '../../lib/data/dataframe.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const file = path.resolve(repoRoot, '../shared/data/BTCUSDT-15m.csv');

describe('data/dataframe (danfo, loaded lazily)', function () {
  this.timeout(60_000);
  it('loads the shared 15m file into a DataFrame with 61,440 rows and the candle columns', async () => {
    const df = await loadCandles(file);
    expect(df.shape).to.deep.equal([61_440, 7]);
    expect(df.columns).to.deep.equal(['timestamp', 'open', 'high', 'low', 'close', 'volume', 'turnover']);
    // first and last rows against the file's own text
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    const firstRow = lines[1]!.split(',');
    const lastRow = lines.at(-1)!.split(',');
    const col = (name: string) => df.column(name).values as number[];
    expect(col('timestamp')[0]).to.equal(Number(firstRow[0]));
    expect(col('close')[0]).to.equal(Number(firstRow[4]));
    expect(col('timestamp')[61_439]).to.equal(Number(lastRow[0]));
    expect(col('volume')[61_439]).to.equal(Number(lastRow[5]));
    expect(Number.isNaN(col('turnover')[0])).to.equal(true);
  });
});
