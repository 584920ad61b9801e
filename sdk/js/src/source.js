// source: makes elements when the host pulls.
import { Pending, guarded } from './element.js';
import { component } from './lifecycle.js';
import { outputElement } from './output.js';

/** The `source` and `lifecycle` exports of a class with `pull()` (and optionally `notify(paused)`). */
export function exportSource(Class) {
  const { get, lifecycle } = component(Class);
  let nextSequence = 0n;
  const source = {
    pull() {
      return guarded(() => {
        const out = get().pull();
        if (out === undefined || out === null) {
          return { tag: 'exhausted' };
        }
        if (out instanceof Pending) {
          return { tag: 'pending', val: BigInt(out.afterNs) };
        }
        const element = outputElement(out, undefined, nextSequence);
        nextSequence = element.meta.sequence + 1n;
        return { tag: 'element', val: element };
      });
    },
    notify(signal) {
      get().notify?.(signal === 'pause');
    },
  };
  return { source, lifecycle };
}
