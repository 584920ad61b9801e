// router: sends each element to some of its named ports (the same buffer, shared).
import { Element, guarded } from './element.js';
import { component } from './lifecycle.js';

/** The `router` and `lifecycle` exports of a class with `ports` and `route(element)`. */
export function exportRouter(Class) {
  const { get, lifecycle } = component(Class);
  const router = {
    ports() {
      const ports = get().ports;
      return [...(typeof ports === 'function' ? ports.call(get()) : ports)];
    },
    route(raw) {
      return guarded(() => {
        const to = get().route(new Element(raw));
        if (to === undefined || to === null) {
          return [];
        }
        return typeof to === 'string' ? [to] : [...to];
      });
    },
  };
  return { router, lifecycle };
}
