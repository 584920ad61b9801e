// Test processor: upper case and "!".
import { exportProcessor } from 'torvyn/processor';

class Shout {
  process(element) {
    return element.text.toUpperCase() + '!';
  }
}

export const { processor, lifecycle } = exportProcessor(Shout);
