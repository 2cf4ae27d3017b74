import { consume } from '@lit/context';
import { LitElement, css, html, nothing } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import { tabdContext } from './context.js';
import type { TabdHandle } from './handle.js';
import { StatusController } from './status-controller.js';

/** TabdStatus shows this tab's role, the leader, quorum and the members. */
@customElement('tabd-status')
export class TabdStatus extends LitElement {
  static override styles = css`
    :host { display: block; }
    dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; margin: 0 0 1rem; }
    dt { color: #555; }
    dd { margin: 0; font-family: ui-monospace, monospace; }
    .ok { color: #0a7a2f; } .bad { color: #b00020; font-weight: 600; }
    table { border-collapse: collapse; font-family: ui-monospace, monospace; font-size: 0.9rem; }
    th, td { padding: 0.2rem 0.6rem; border-bottom: 1px solid #ddd; text-align: left; }
    .role-leader { font-weight: 600; }
  `;

  @consume({ context: tabdContext, subscribe: true })
  @state()
  handle?: TabdHandle;

  private readonly status = new StatusController(this, () => this.handle);

  override render() {
    const s = this.status.value;
    if (!s) return html`<p>starting…</p>`;
    return html`
      <dl>
        <dt>cluster</dt><dd data-testid="cluster">${s.cluster}</dd>
        <dt>this tab</dt><dd data-testid="peer">${s.id} — <span class="role-${s.role}" data-testid="role">${s.isLearner ? 'learner' : s.role}</span></dd>
        <dt>leader</dt><dd data-testid="leader">${s.leader || 'none'}</dd>
        <dt>quorum</dt>
        <dd data-testid="quorum" class=${s.quorum ? 'ok' : 'bad'}>${s.quorum ? 'ok' : 'NO QUORUM: writes refused, linearizable reads unavailable'}</dd>
        <dt>term / commit / applied</dt><dd>${s.term} / ${s.commitIndex} / ${s.appliedIndex}</dd>
        <dt>revision</dt><dd>${s.revision}</dd>
        <dt>frames dropped</dt><dd>${s.transport.framesDropped}</dd>
        ${s.alarms.length ? html`<dt>alarms</dt><dd class="bad">${s.alarms.join(', ')}</dd>` : nothing}
      </dl>
      <table data-testid="members">
        <thead><tr><th>member</th><th>role</th><th>health</th><th>lag</th></tr></thead>
        <tbody>
          ${s.members.map(
            (m) => html`<tr>
              <td>${m.id}${m.id === s.id ? ' (this tab)' : ''}${m.id === s.leader ? ' ★' : ''}</td>
              <td>${m.role}</td>
              <td class=${m.healthy ? 'ok' : 'bad'}>${m.healthy ? 'up' : 'unreachable'}</td>
              <td>${m.lag >= 0 ? m.lag : '–'}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'tabd-status': TabdStatus;
  }
}
