#!/usr/bin/env -S UV_THREADPOOL_SIZE=20 node --max-semi-space-size=4
// The daemon; the code lives in src/ (compiled to dist/ by `npm install`).
// Environment and Node flags in the first line: see src/daemon-node-flags.ts.
import { runDaemon } from '../dist/src/daemon-main.js';

await runDaemon(process.argv);
