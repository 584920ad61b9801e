// {{name}}: a Torvyn sink in JavaScript. Counts what it is given; an empty
// payload is refused as invalid input (the node's on-error decides what follows).
import { InvalidInput } from 'torvyn';
import { exportSink } from 'torvyn/sink';

class {{Name}} {
  received = 0;
  push(element) {
    if (element.size === 0) {
      throw new InvalidInput('empty element');
    }
    this.received++;
  }
}

export const { sink, lifecycle } = exportSink({{Name}});
