#!/usr/bin/env node
// Thin launcher: always run main(). A "am I the main module" check is false through
// npm's bin symlink, so this file must not have one.
import { main } from '../dist/cli/main.js';

await main(process.argv);
