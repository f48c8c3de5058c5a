import type { WorkdirLayout } from '../installroot/paths.ts';
import type { Reporter } from '../progress/reporter.ts';

/** What every command needs: where to work and where progress goes. */
export interface AgentContext {
  readonly layout: WorkdirLayout;
  readonly reporter: Reporter;
}
