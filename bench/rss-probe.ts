// Preloaded with `node --import` when GNU time is missing: records node's own peak RSS (KiB)
// in $SSHSTREAM_BENCH_RSS_FILE as the process exits.
import { writeFileSync } from 'node:fs';

const file = process.env['SSHSTREAM_BENCH_RSS_FILE'];
if (file) {
  process.on('exit', () => writeFileSync(file, `${process.resourceUsage().maxRSS}\n`));
}
