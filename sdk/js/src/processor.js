// processor: one element in, at most one out.
import { Element, guarded } from './element.js';
import { component } from './lifecycle.js';
import { outputElement } from './output.js';

/** The `processor` and `lifecycle` exports of a class with `process(element)`. */
export function exportProcessor(Class) {
  const { get, lifecycle } = component(Class);
  const processor = {
    process(raw) {
      return guarded(() => {
        const element = new Element(raw);
        const out = get().process(element);
        if (out === undefined || out === null) {
          return { tag: 'drop' };
        }
        return { tag: 'emit', val: outputElement(out, element) };
      });
    },
  };
  return { processor, lifecycle };
}
