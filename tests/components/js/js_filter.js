// Test filter: drops sequence numbers 2 more than a multiple of 4.
import { exportFilter } from 'torvyn/filter';

class Keep {
  accept(element) {
    return element.sequence % 4n !== 2n;
  }
}

export const { filter, lifecycle } = exportFilter(Keep);
