/**
 * Preloaded into devicepassd by the IMAP benchmark (`node --expose-gc --import
 * …/memory-probe.js`, spawned with an IPC channel): answers a "memory" message
 * with the process's memory after a full garbage collection, so the benchmark
 * can measure what each idle session costs. It changes nothing else.
 */
import v8 from 'node:v8';

process.on('message', (message) => {
  if (message !== 'memory') return;
  // present only with --expose-gc; without it the figures include garbage
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, s.space_size]));
  process.send?.({ rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, spaces });
});
// the channel must not keep the daemon alive when it is told to stop
process.channel?.unref();
