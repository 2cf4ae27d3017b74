// A dedicated Worker whose only job is to wake the page on time. Chromium
// throttles a hidden page's timers to once a second (later once a minute) but
// not a dedicated worker's timers nor worker → page messages
// (shared/BROWSER-LIFECYCLE.md), so the node's ticks come from here.
//
// Protocol: the page posts {type: 'start', intervalMs}; the worker posts
// {type: 'wake', now} every intervalMs. `now` is informational: the page
// derives ticks from its own performance.now(), so a late or coalesced wake
// still yields the right number of ticks.
interface StartMessage {
  readonly type: 'start';
  readonly intervalMs: number;
}

let timer: ReturnType<typeof setInterval> | undefined;

self.onmessage = (ev: MessageEvent<StartMessage | { type: 'stop' }>) => {
  const msg = ev.data;
  if (timer !== undefined) clearInterval(timer);
  timer = undefined;
  if (msg.type === 'start') {
    timer = setInterval(() => self.postMessage({ type: 'wake', now: performance.now() }), msg.intervalMs);
  }
};
