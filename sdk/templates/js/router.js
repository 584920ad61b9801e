// {{name}}: a Torvyn router in JavaScript. Even sequence numbers to port
// "even", odd ones to "odd".
import { exportRouter } from 'torvyn/router';

class {{Name}} {
  ports = ['even', 'odd'];
  route(element) {
    return element.sequence % 2n === 0n ? 'even' : 'odd';
  }
}

export const { router, lifecycle } = exportRouter({{Name}});
