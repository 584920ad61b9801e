// The pass-through processor of the language comparison, in JavaScript.
import { exportProcessor } from 'torvyn/processor';

class Pass {
  process(element) {
    return element.data;
  }
}

export const { processor, lifecycle } = exportProcessor(Pass);
