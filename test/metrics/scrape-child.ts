/**
 * `node scrape-child.js URL [FILE]`, run inside a namespace: GET URL once, print
 * {"status", "ms", "bytes"} (ms: request sent → last byte) and write the body to FILE if given.
 */
import { writeFileSync } from 'node:fs';
import { get } from 'node:http';

const [url, file] = process.argv.slice(2);
const t0 = performance.now();
get(url!, { agent: false }, (res) => {
  const parts: Buffer[] = [];
  res.on('data', (d: Buffer) => parts.push(d));
  res.on('end', () => {
    const ms = performance.now() - t0;
    const body = Buffer.concat(parts);
    if (file) writeFileSync(file, body);
    process.stdout.write(`${JSON.stringify({ status: res.statusCode, ms, bytes: body.length })}\n`);
  });
}).on('error', (err) => {
  process.stdout.write(`${JSON.stringify({ error: err.message })}\n`);
  process.exitCode = 1;
});
