#!/usr/bin/env node
// The daemon; the code lives in src/ (compiled to dist/ by `npm install`).
import { runDaemon } from '../dist/src/daemon-main.js';

await runDaemon(process.argv);
