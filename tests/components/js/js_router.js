// Test router: even sequence numbers to "even", odd to "odd", every 5th to both.
import { exportRouter } from 'torvyn/router';

class Parity {
  ports = ['even', 'odd'];
  route(element) {
    if (element.sequence % 5n === 0n) {
      return ['even', 'odd'];
    }
    return element.sequence % 2n === 0n ? 'even' : 'odd';
  }
}

export const { router, lifecycle } = exportRouter(Parity);
