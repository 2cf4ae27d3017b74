import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { StatusView, TabdHandle } from './handle.js';

/**
 * StatusController polls the node's status while its host is connected.
 * Status is cheap to compute and changes every heartbeat, so polling at a
 * human rate is simpler and cheaper than an event per change.
 */
export class StatusController implements ReactiveController {
  value: StatusView | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly handle: () => TabdHandle | undefined,
    private readonly everyMs = 250,
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    this.refresh();
    this.timer = setInterval(() => this.refresh(), this.everyMs);
  }

  hostDisconnected(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private refresh(): void {
    const h = this.handle();
    if (!h) return;
    this.value = h.status();
    this.host.requestUpdate();
  }
}
