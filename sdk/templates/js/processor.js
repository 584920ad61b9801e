// {{name}}: a Torvyn processor in JavaScript. Upper-cases the text.
import { exportProcessor } from 'torvyn/processor';

class {{Name}} {
  process(element) {
    return element.text.toUpperCase(); // null would drop the element
  }
}

export const { processor, lifecycle } = exportProcessor({{Name}});
