#!/usr/bin/env node
// The checkpassword program (qmail/Dovecot interface); the code lives in src/checkpassword/ (compiled to dist/).
import { runCheckpassword } from '../dist/src/checkpassword/main.js';

process.exitCode = await runCheckpassword(process.argv.slice(2));
