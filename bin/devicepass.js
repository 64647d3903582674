#!/usr/bin/env node
// The admin CLI; the code lives in src/cli (compiled to dist/ by `npm install`).
import { runCli } from '../dist/src/cli/main.js';

process.exitCode = await runCli(process.argv);
