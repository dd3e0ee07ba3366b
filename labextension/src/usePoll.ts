import { useEffect, useRef } from 'react';

/**
 * Run `task` now and then every `intervalMs` while the component is mounted; a run does not
 * start while the previous one is still going, and runs pause while `active()` is false
 * (the sidebar is collapsed) or the page is hidden. Changing `deps` restarts the cycle
 * (and runs at once).
 */
export function usePoll(
  task: () => Promise<void>,
  intervalMs: number,
  deps: readonly unknown[],
  active: () => boolean = () => true
): void {
  const taskRef = useRef(task);
  taskRef.current = task;
  const activeRef = useRef(active);
  activeRef.current = active;
  useEffect(() => {
    let stopped = false;
    let running = false;
    const tick = async (): Promise<void> => {
      if (stopped || running || document.hidden || !activeRef.current()) {
        return;
      }
      running = true;
      try {
        await taskRef.current();
      } finally {
        running = false;
      }
    };
    void tick();
    const handle = window.setInterval(() => void tick(), intervalMs);
    return () => {
      stopped = true;
      window.clearInterval(handle);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [intervalMs, ...deps]);
}
