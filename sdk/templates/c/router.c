// {{name}}: a Torvyn router in C. Even sequence numbers to port "even", odd
// ones to "odd".
#include <stdlib.h>

#include <torvyn/guest.h>

static void one_port(torvyn_list_string_t* ret, const char* port) {
    ret->len = 1;
    ret->ptr = malloc(sizeof(torvyn_string_t));
    torvyn_string_dup(&ret->ptr[0], port);
}

void exports_torvyn_streaming_router_ports(torvyn_list_string_t* ret) {
    ret->len = 2;
    ret->ptr = malloc(2 * sizeof(torvyn_string_t));
    torvyn_string_dup(&ret->ptr[0], "even");
    torvyn_string_dup(&ret->ptr[1], "odd");
}

static bool route(torvyn_element_t* element, torvyn_list_string_t* ret, torvyn_error_t* err) {
    (void)err;
    one_port(ret, element->meta.sequence % 2 == 0 ? "even" : "odd");
    return true;
}
TORVYN_C_ROUTER(route)
