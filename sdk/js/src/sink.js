// sink: takes elements at the end of a flow.
import { Element, PAUSE, guarded } from './element.js';
import { component } from './lifecycle.js';

/** The `sink` and `lifecycle` exports of a class with `push(element)` (and optionally `complete()`). */
export function exportSink(Class) {
  const { get, lifecycle } = component(Class);
  const sink = {
    push(raw) {
      return guarded(() => (get().push(new Element(raw)) === PAUSE ? 'pause' : 'ready'));
    },
    complete() {
      guarded(() => get().complete?.());
    },
  };
  return { sink, lifecycle };
}
