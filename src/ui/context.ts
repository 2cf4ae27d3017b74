import { createContext } from '@lit/context';
import type { TabdHandle } from './handle.js';

/** tabdContext provides the tab's handle (client, status, partition hooks) to every component. */
export const tabdContext = createContext<TabdHandle | undefined>(Symbol('tabd'));
