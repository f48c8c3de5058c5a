/** The dom0-update command: everything happens in run.ts; this only wires the process. */
import { main } from './run.ts';

process.exitCode = await main(process.argv.slice(2), process.env);
