// aggregator: absorbs elements, emits results now or at the end (flush).
import { Element, guarded } from './element.js';
import { component } from './lifecycle.js';
import { outputElement } from './output.js';

/** The `aggregator` and `lifecycle` exports of a class with `ingest(element)` and `flush()`. */
export function exportAggregator(Class) {
  const { get, lifecycle } = component(Class);
  let nextSequence = 0n;
  const emit = (value) => {
    const element = outputElement(value, undefined, nextSequence);
    nextSequence = element.meta.sequence + 1n;
    return element;
  };
  const aggregator = {
    ingest(raw) {
      return guarded(() => {
        const out = get().ingest(new Element(raw));
        return out === undefined || out === null ? undefined : emit(out);
      });
    },
    flush() {
      return guarded(() => [...(get().flush?.() ?? [])].map(emit));
    },
  };
  return { aggregator, lifecycle };
}
