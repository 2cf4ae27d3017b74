import { consume } from '@lit/context';
import { LitElement, css, html } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import { tabdContext } from './context.js';
import type { TabdHandle } from './handle.js';

const decoder = new TextDecoder();

/** TabdKvBox is a put / get / delete form over the tab's client. */
@customElement('tabd-kv-box')
export class TabdKvBox extends LitElement {
  static override styles = css`
    form { display: flex; gap: 0.5rem; flex-wrap: wrap; align-items: center; }
    input { font: inherit; padding: 0.3rem; }
    output { display: block; margin-top: 0.6rem; font-family: ui-monospace, monospace; white-space: pre-wrap; }
    .err { color: #b00020; }
  `;

  @consume({ context: tabdContext, subscribe: true })
  @state()
  handle?: TabdHandle;

  @state() private result = '';
  @state() private error = false;

  private field(name: string): string {
    return (this.renderRoot.querySelector(`input[name=${name}]`) as HTMLInputElement | null)?.value ?? '';
  }

  private async run(op: 'put' | 'get' | 'delete'): Promise<void> {
    const h = this.handle;
    if (!h) return;
    const key = this.field('key');
    if (!key) {
      this.show('a key is required', true);
      return;
    }
    try {
      if (op === 'put') {
        const r = await h.client.put(key, this.field('value'));
        this.show(`put ${key} at revision ${r.header.revision}`, false);
      } else if (op === 'get') {
        const r = await h.client.get(key);
        const kv = r.kvs[0];
        this.show(
          kv ? `${key} = ${decoder.decode(kv.value)} (version ${kv.version}, mod revision ${kv.modRevision})` : `${key} not found (revision ${r.header.revision})`,
          false,
        );
      } else {
        const r = await h.client.delete(key);
        this.show(`deleted ${r.deleted} at revision ${r.header.revision}`, false);
      }
    } catch (err) {
      const e = err as { code?: string; message?: string };
      this.show(`${e.code ?? 'error'}: ${e.message ?? String(err)}`, true);
    }
  }

  private show(text: string, error: boolean): void {
    this.result = text;
    this.error = error;
  }

  override render() {
    return html`
      <form @submit=${(e: Event) => e.preventDefault()}>
        <input name="key" placeholder="key" aria-label="key" />
        <input name="value" placeholder="value" aria-label="value" />
        <button type="button" @click=${() => this.run('put')}>put</button>
        <button type="button" @click=${() => this.run('get')}>get</button>
        <button type="button" @click=${() => this.run('delete')}>delete</button>
      </form>
      <output data-testid="result" class=${this.error ? 'err' : ''}>${this.result}</output>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'tabd-kv-box': TabdKvBox;
  }
}
