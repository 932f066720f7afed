// What the kiosk browser adds to the page it shows, in an isolated world the page's scripts cannot
// reach: the toolbar (back, forward, home, end session — as the profile shows them) in a closed
// shadow root, input reported as activity for the idle restart, and for signage every input
// swallowed before the page sees it. It only asks: the host hands what it sends to
// KioskController.command, and navigation itself is enforced outside the page.
import type { KioskEndState } from '../../../protocol/profile.js';

/** The isolated world's name (DevTools protocol) and the function it calls to reach the host. */
export const KIOSK_WORLD = 'selfdeploy-kiosk';
export const KIOSK_BINDING = 'selfdeployKiosk';

interface ToolbarOptions {
  binding: string;
  interactive: boolean;
  back: boolean;
  home: boolean;
  endSession: boolean;
}

/** The script for the kiosk's isolated world (self-contained: it is sent as text). */
export function toolbarScript(config: Pick<KioskEndState, 'mode' | 'showNavigationButtons' | 'showHomeButton' | 'showEndSessionButton'>): string {
  const options: ToolbarOptions = {
    binding: KIOSK_BINDING,
    interactive: config.mode === 'browser',
    back: config.showNavigationButtons,
    home: config.showHomeButton,
    endSession: config.showEndSessionButton,
  };
  return `(${installToolbar.toString()})(${JSON.stringify(options)});`;
}

// The little of the DOM the script uses (the agent's code is compiled without the DOM's types).
interface PageEvent {
  readonly isTrusted: boolean;
  preventDefault(): void;
  stopImmediatePropagation(): void;
}
interface PageTarget {
  addEventListener(type: string, listener: (event: PageEvent) => void, options?: Record<string, boolean>): void;
}
interface PageElement extends PageTarget {
  append(...nodes: PageElement[]): void;
  setAttribute(name: string, value: string): void;
  attachShadow(init: { mode: 'closed' }): PageElement;
  style: { display: string; setProperty(name: string, value: string, priority: string): void };
  dataset: Record<string, string>;
  title: string;
  textContent: string | null;
  className: string;
  type: string;
}
declare const window: PageTarget & { top: unknown };
declare const document: PageTarget & { readyState: string; documentElement: PageElement; createElement(tag: string): PageElement };

function installToolbar(options: ToolbarOptions): void {
  const scope = globalThis as unknown as Record<string, unknown> & { __selfdeployKiosk?: boolean };
  if (scope.__selfdeployKiosk) return;
  scope.__selfdeployKiosk = true;
  const send = (command: string) => {
    const binding = scope[options.binding];
    if (typeof binding === 'function') (binding as (payload: string) => void)(command);
  };
  const inputs = ['keydown', 'keyup', 'keypress', 'mousedown', 'mouseup', 'click', 'dblclick', 'auxclick', 'contextmenu', 'wheel', 'touchstart', 'touchmove', 'touchend', 'pointerdown', 'pointerup'];
  if (!options.interactive) {
    // Signage: nothing a passer-by does reaches the page.
    for (const type of inputs)
      window.addEventListener(
        type,
        (event) => {
          event.preventDefault();
          event.stopImmediatePropagation();
        },
        { capture: true, passive: false },
      );
    return;
  }
  let last = 0;
  for (const type of ['pointerdown', 'keydown', 'wheel', 'touchstart'])
    window.addEventListener(
      type,
      () => {
        const now = Date.now();
        if (now - last < 5000) return;
        last = now;
        send('activity');
      },
      { capture: true, passive: true },
    );
  if (window.top !== window) return; // the toolbar belongs to the top page only
  const buttons: [string, string, string][] = [];
  if (options.back) buttons.push(['back', '\u2039', 'Back'], ['forward', '\u203a', 'Forward']);
  if (options.home) buttons.push(['home', '\u2302', 'Home']);
  if (options.endSession) buttons.push(['end-session', '', 'End session']);
  if (buttons.length === 0) return;
  const mount = () => {
    const host = document.createElement('selfdeploy-kiosk-toolbar');
    const root = host.attachShadow({ mode: 'closed' });
    const style = document.createElement('style');
    style.textContent = [
      ':host{all:initial;position:fixed;inset:0 0 auto 0;height:48px;z-index:2147483647;display:flex;gap:8px;align-items:center;padding:0 12px;background:#1b1b1b;font:15px system-ui,sans-serif}',
      'button{all:unset;cursor:pointer;color:#fff;background:#3a3a3a;border-radius:6px;padding:6px 14px;min-width:24px;text-align:center}',
      'button:hover{background:#505050}button:focus-visible{outline:3px solid #ffd000;outline-offset:2px}',
      '.end{margin-inline-start:auto;background:#a4262c}',
    ].join('');
    const bar = document.createElement('nav');
    bar.setAttribute('aria-label', 'Kiosk');
    bar.style.display = 'contents';
    for (const [command, glyph, label] of buttons) {
      const button = document.createElement('button');
      button.type = 'button';
      button.dataset['command'] = command;
      button.setAttribute('aria-label', label);
      button.title = label;
      button.textContent = glyph ? `${glyph} ${label}` : label;
      if (command === 'end-session') button.className = 'end';
      button.addEventListener('click', (event) => {
        event.preventDefault();
        if (event.isTrusted) send(command); // a real press, never a script's
      });
      bar.append(button);
    }
    root.append(style, bar);
    document.documentElement.append(host);
    document.documentElement.style.setProperty('padding-top', '48px', 'important');
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', mount, { once: true });
  else mount();
}
