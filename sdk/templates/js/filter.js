// {{name}}: a Torvyn filter in JavaScript. Keeps elements with an even sequence number.
import { exportFilter } from 'torvyn/filter';

class {{Name}} {
  accept(element) {
    return element.sequence % 2n === 0n;
  }
}

export const { filter, lifecycle } = exportFilter({{Name}});
