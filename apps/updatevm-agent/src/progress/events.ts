/**
 * Progress as the agent reports it. With --json-progress each event is printed as one JSON object
 * per line on stdout (see README.md); the other reporters render the same events for people.
 */
export type DoneResult = 'accepted' | 'no_updates' | 'updates_available' | 'synced' | 'error';

export type ProgressEvent =
  | { readonly stage: 'sync'; readonly files: number; readonly bytes: number }
  | { readonly stage: 'resolve' }
  | {
      readonly stage: 'download';
      readonly done: number;
      readonly total: number | null;
      readonly percent: number | null;
      readonly package?: string;
      /** Bytes in this run's download directory so far, partial files included (a periodic update). */
      readonly bytes?: number;
    }
  | { readonly stage: 'send'; readonly bytes: number; readonly total: number; readonly percent: number }
  | { readonly stage: 'info'; readonly message: string }
  | {
      readonly stage: 'done';
      readonly result: DoneResult;
      readonly packages?: readonly string[];
      readonly code?: string;
      readonly member?: string;
      readonly message?: string;
    };
