import { useEffect, useRef, useState } from 'react';

import type { LiveUpdates } from './live';

/**
 * Run `task` now, again whenever `deps` change, and whenever the journal changes (pushed by the
 * server or seen by the fallback poll) while `active()` is true (the sidebar is shown). A run
 * does not start while the previous one is still going, nor sooner than `minGapMs` after it
 * (a flow committing hundreds of checkpoints a second moves the journal all the time); a change
 * seen meanwhile runs it once more afterwards.
 */
export function useLive(
  live: LiveUpdates,
  task: () => Promise<void>,
  deps: readonly unknown[],
  active: () => boolean = () => true,
  minGapMs = 250
): void {
  const taskRef = useRef(task);
  taskRef.current = task;
  const activeRef = useRef(active);
  activeRef.current = active;
  const [, setTick] = useState(0);
  useEffect(() => {
    let stopped = false;
    let running = false;
    let again = false;
    let lastStart = -Infinity;
    const wait = (ms: number) =>
      new Promise<void>(resolve => window.setTimeout(resolve, ms));
    const run = async (): Promise<void> => {
      if (stopped || !activeRef.current()) {
        return;
      }
      if (running) {
        again = true;
        return;
      }
      running = true;
      try {
        do {
          again = false;
          const gap = lastStart + minGapMs - Date.now();
          if (gap > 0) {
            await wait(gap);
          }
          lastStart = Date.now();
          await taskRef.current();
        } while (again && !stopped);
      } finally {
        running = false;
      }
    };
    const onChanged = (): void => {
      void run();
    };
    void run();
    live.changed.connect(onChanged);
    // relative times ("2 minutes ago") move on even when nothing changes
    const clock = window.setInterval(() => setTick(t => t + 1), 30_000);
    return () => {
      stopped = true;
      live.changed.disconnect(onChanged);
      window.clearInterval(clock);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [live, minGapMs, ...deps]);
}
