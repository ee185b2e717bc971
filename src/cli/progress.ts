// A progress bar with throughput and ETA on stderr (cli-progress), or one line per update when stderr is not a TTY.
import cliProgress from 'cli-progress';

export interface Progress {
  /** `total` may change the bar's total (for work whose size is known only once started). */
  update(done: number, fields?: Record<string, string | number>, total?: number): void;
  stop(): void;
}

export function progressBar(label: string, total: number, unit: string): Progress {
  if (!process.stderr.isTTY) {
    let last = 0;
    return {
      update(done, fields = {}, newTotal?: number) {
        if (newTotal !== undefined) total = newTotal;
        const now = Date.now();
        if (now - last < 10_000 && done < total) return;
        last = now;
        const extra = Object.entries(fields).map(([k, v]) => `${k} ${v}`).join('  ');
        process.stderr.write(`${label} ${done}/${total} ${unit}  ${extra}\n`);
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {value}/{total} ${unit} | {fields} | ETA {eta_formatted}`, hideCursor: true, stream: process.stderr, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { fields: '' });
  return {
    update(done, fields = {}, newTotal?: number) {
      if (newTotal !== undefined) bar.setTotal(newTotal);
      bar.update(done, { fields: Object.entries(fields).map(([k, v]) => `${k} ${v}`).join('  ') });
    },
    stop() {
      bar.stop();
    },
  };
}
