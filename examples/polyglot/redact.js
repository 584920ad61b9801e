// A processor in JavaScript: hides personal data before anything is stored.
// E-mail addresses keep their first letter and domain (a***@example.com);
// IPv4 addresses lose their last part (10.0.0.x).
import { exportProcessor } from 'torvyn/processor';

const EMAIL = /([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})/g;
const IPV4 = /\b(\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}\b/g;

class Redact {
  process(element) {
    return element.text.replace(EMAIL, '$1***@$2').replace(IPV4, '$1.x');
  }
}

export const { processor, lifecycle } = exportProcessor(Redact);
