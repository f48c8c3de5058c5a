import type { DnfLimits } from '../dnf/limits.ts';
import type { WorkdirLayout } from '../installroot/paths.ts';
import type { Interruption } from '../cli/interruption.ts';
import type { Reporter } from '../progress/reporter.ts';

/** What every command needs: where to work, where progress goes, and whether to stop. */
export interface AgentContext {
  readonly layout: WorkdirLayout;
  readonly reporter: Reporter;
  readonly interruption: Interruption;
  /** What each dnf run may take (the UpdateVM's own command line, never dom0's request). */
  readonly dnfLimits: DnfLimits;
}
