// A router the tests script to misbehave, through its config ("mode=..."):
//   many-ports   route returns 100,000 port names for one element
//   long-port    route returns one port name of 1 MiB
//   escape-port  ports() declares a name with terminal escape sequences
// Otherwise it routes every element to port "out".
#include <stdlib.h>
#include <string.h>

#include <torvyn/guest.h>

static char mode[16] = "ok";

bool exports_torvyn_streaming_lifecycle_init(torvyn_string_t* config, torvyn_error_t* err) {
    (void)err;
    torvyn_config_str(config, "mode", mode, sizeof mode);
    torvyn_string_free(config);
    return true;
}

static void set_names(data_router_list_string_t* out, size_t n, const char* name, size_t len) {
    out->len = n;
    out->ptr = calloc(n, sizeof(data_router_string_t));
    for (size_t i = 0; i < n; ++i) {
        out->ptr[i].ptr = malloc(len);
        memcpy(out->ptr[i].ptr, name, len);
        out->ptr[i].len = len;
    }
}

void exports_torvyn_streaming_router_ports(data_router_list_string_t* ret) {
    if (strcmp(mode, "escape-port") == 0) {
        set_names(ret, 1, "\x1b[2Jevil\n", 10);
        return;
    }
    set_names(ret, 1, "out", 3);
}

bool exports_torvyn_streaming_router_route(torvyn_element_t* element,
                                           data_router_list_string_t* ret, torvyn_error_t* err) {
    (void)err;
    torvyn_element_done(element);
    if (strcmp(mode, "many-ports") == 0) {
        set_names(ret, 100000, "out", 3);
    } else if (strcmp(mode, "long-port") == 0) {
        const size_t len = 1u << 20;
        char* name = malloc(len);
        memset(name, 'p', len);
        set_names(ret, 1, name, len);
        free(name);
    } else {
        set_names(ret, 1, "out", 3);
    }
    return true;
}
