// What every role's export shares: the component's one instance and its
// life cycle. The host calls one export at a time.
import { guarded } from './element.js';

export function component(Class) {
  let instance;
  const get = () => (instance ??= new Class(''));
  const lifecycle = {
    init(config) {
      guarded(() => {
        instance = new Class(config);
      });
    },
    teardown() {
      instance?.teardown?.();
    },
  };
  return { get, lifecycle };
}
