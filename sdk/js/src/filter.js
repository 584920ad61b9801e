// filter: keeps (true) or discards (false) elements; the host forwards the same buffer.
import { Element, guarded } from './element.js';
import { component } from './lifecycle.js';

/** The `filter` and `lifecycle` exports of a class with `accept(element)`. */
export function exportFilter(Class) {
  const { get, lifecycle } = component(Class);
  const filter = {
    accept(raw) {
      return guarded(() => Boolean(get().accept(new Element(raw))));
    },
  };
  return { filter, lifecycle };
}
