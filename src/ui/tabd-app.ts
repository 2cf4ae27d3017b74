import { provide } from '@lit/context';
import { LitElement, css, html } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { tabdContext } from './context.js';
import type { TabdHandle } from './handle.js';
import './tabd-kv-box.js';
import './tabd-status.js';

/** TabdApp is the page's root: it provides the tab's handle to the components below. */
@customElement('tabd-app')
export class TabdApp extends LitElement {
  static override styles = css`
    :host { display: block; font-family: system-ui, sans-serif; max-width: 52rem; margin: 1.5rem auto; padding: 0 1rem; }
    h1 { margin: 0 0 0.2rem; } p.lede { margin: 0 0 1rem; color: #555; }
    section { margin-bottom: 1.5rem; }
    .err { color: #b00020; }
  `;

  @provide({ context: tabdContext })
  @property({ attribute: false })
  handle?: TabdHandle;

  @property() error = '';

  override render() {
    return html`
      <h1>tabd</h1>
      <p class="lede">A strongly consistent key-value store whose members are browser tabs. Open this page in more tabs to grow the cluster.</p>
      ${this.error ? html`<p class="err" data-testid="error">${this.error}</p>` : ''}
      <section><tabd-status></tabd-status></section>
      <section><h2>Keys</h2><tabd-kv-box></tabd-kv-box></section>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'tabd-app': TabdApp;
  }
}
