// {{name}}: a Torvyn filter in C. Keeps elements with an even sequence number.
#include <torvyn/guest.h>

static bool accept(torvyn_element_t* element, bool* ret, torvyn_error_t* err) {
    (void)err;
    *ret = element->meta.sequence % 2 == 0;
    return true;
}
TORVYN_C_FILTER(accept)
