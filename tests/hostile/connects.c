// Opens a TCP connection to config "port=N" on 127.0.0.1 for every element,
// through WASI sockets, and emits what happened: "connected" or
// "error:<code>". Needs the address granted in `connect`; the host refuses
// every other address (access-denied).
#include <string.h>

#include <torvyn/guest.h>

#include "net_user.h"

static uint16_t port = 0;

static const char* const kCodes[] = {"unknown",
                                     "access-denied",
                                     "not-supported",
                                     "invalid-argument",
                                     "out-of-memory",
                                     "timeout",
                                     "concurrency-conflict",
                                     "not-in-progress",
                                     "would-block",
                                     "invalid-state",
                                     "new-socket-limit",
                                     "address-not-bindable",
                                     "address-in-use",
                                     "remote-unreachable",
                                     "connection-refused",
                                     "connection-reset",
                                     "connection-aborted",
                                     "datagram-too-large",
                                     "name-unresolvable",
                                     "temporary-resolver-failure",
                                     "permanent-resolver-failure"};

bool exports_torvyn_streaming_lifecycle_init(torvyn_string_t* config, torvyn_error_t* err) {
    (void)err;
    port = (uint16_t)torvyn_config_u64(config, "port", 0);
    torvyn_string_free(config);
    return true;
}

/* Connects; returns NULL on success or the error code's name. */
static const char* connect_once(void) {
    wasi_sockets_instance_network_own_network_t net =
        wasi_sockets_instance_network_instance_network();
    wasi_sockets_tcp_create_socket_own_tcp_socket_t sock;
    wasi_sockets_tcp_create_socket_error_code_t code;
    const char* result = NULL;
    if (!wasi_sockets_tcp_create_socket_create_tcp_socket(
            WASI_SOCKETS_NETWORK_IP_ADDRESS_FAMILY_IPV4, &sock, &code)) {
        wasi_sockets_network_network_drop_own(net);
        return kCodes[code];
    }
    wasi_sockets_tcp_borrow_tcp_socket_t s = wasi_sockets_tcp_borrow_tcp_socket(sock);
    wasi_sockets_tcp_ip_socket_address_t addr;
    addr.tag = WASI_SOCKETS_NETWORK_IP_SOCKET_ADDRESS_IPV4;
    addr.val.ipv4.port = port;
    addr.val.ipv4.address.f0 = 127;
    addr.val.ipv4.address.f1 = 0;
    addr.val.ipv4.address.f2 = 0;
    addr.val.ipv4.address.f3 = 1;
    if (!wasi_sockets_tcp_method_tcp_socket_start_connect(
            s, wasi_sockets_network_borrow_network(net), &addr, &code)) {
        result = kCodes[code];
    } else {
        wasi_sockets_tcp_own_pollable_t ready = wasi_sockets_tcp_method_tcp_socket_subscribe(s);
        wasi_io_poll_method_pollable_block(wasi_io_poll_borrow_pollable(ready));
        wasi_io_poll_pollable_drop_own(ready);
        wasi_sockets_tcp_tuple2_own_input_stream_own_output_stream_t streams;
        if (wasi_sockets_tcp_method_tcp_socket_finish_connect(s, &streams, &code)) {
            wasi_io_streams_input_stream_drop_own(streams.f0);
            wasi_io_streams_output_stream_drop_own(streams.f1);
        } else {
            result = kCodes[code];
        }
    }
    wasi_sockets_tcp_tcp_socket_drop_own(sock);
    wasi_sockets_network_network_drop_own(net);
    return result;
}

bool exports_torvyn_streaming_processor_process(
    torvyn_element_t* element, exports_torvyn_streaming_processor_process_result_t* ret,
    torvyn_error_t* err) {
    torvyn_element_done(element);
    const char* failure = connect_once();
    char text[64] = "connected";
    if (failure != NULL) {
        strcpy(text, "error:");
        strncat(text, failure, sizeof text - 7);
    }
    ret->tag = EXPORTS_TORVYN_STREAMING_PROCESSOR_PROCESS_RESULT_EMIT;
    return torvyn_make_output(text, strlen(text), "text/plain", 0, &ret->val.emit, err);
}
