import type { Readable } from 'node:stream';
import type { TransportSpec } from '../cli/args.ts';
import { ExitCode } from '../exit-code.ts';
import { installState } from '../installroot/layout.ts';
import { ensureRpmdbReadable, writeRpmMacros } from '../installroot/rpmdb.ts';
import type { DownloadRequest } from '../request.ts';
import { receiveState } from '../state/receive.ts';
import type { AgentContext } from './context.ts';
import { performDownload } from './download.ts';

/** Takes in dom0's state stream and lays out the installroot; returns dom0's request. */
async function takeState(ctx: AgentContext, stdin: Readable): Promise<DownloadRequest> {
  try {
    return await layOutState(ctx, stdin);
  } catch (error) {
    // a stop while dom0's state streams in ends the read at once; the half-built root is discarded
    ctx.interruption.throwIfStopped();
    throw error;
  }
}

async function layOutState(ctx: AgentContext, stdin: Readable): Promise<DownloadRequest> {
  const { request, files } = await receiveState(stdin, ctx.interruption.signal);
  await writeRpmMacros(ctx.layout);
  const installed = await installState(ctx.layout, files, (candidate) => ensureRpmdbReadable(candidate, ctx.interruption), ctx.interruption);
  const rebuilt = installed.checked;
  ctx.reporter.report({ stage: 'sync', files: installed.files, bytes: installed.bytes });
  if (rebuilt) ctx.reporter.report({ stage: 'info', message: "state: dom0's rpm database was rebuilt for this rpm" });
  return request;
}

/** `sync-state`: the installroot only; a later `download` uses it. */
export async function syncState(ctx: AgentContext, stdin: Readable): Promise<ExitCode> {
  await takeState(ctx, stdin);
  ctx.reporter.report({ stage: 'done', result: 'synced' });
  return ExitCode.ok;
}

/** `run`: what dom0 starts: state and request on stdin, then download and send. */
export async function runFromDom0(ctx: AgentContext, stdin: Readable, transport: TransportSpec): Promise<ExitCode> {
  const request = await takeState(ctx, stdin);
  return performDownload(ctx, request, transport);
}
