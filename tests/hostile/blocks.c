// A processor that waits inside the host on every element, in the way its
// config says ("mode=... port=N"):
//   sleep    blocks on a clock pollable that is ready after 60 s
//   poll     the same through wasi:io/poll.poll
//   connect  connects to 127.0.0.1:port (a listener whose backlog is full,
//            so the connection never completes) and waits for it
//   read     connects to 127.0.0.1:port (a listener that never writes) and
//            waits in blocking-read
// With "announce=1" it first writes "waiting" to stderr, so a test can tell
// that the call has started. A call that returns emits "done".
#include <string.h>

#include <torvyn/guest.h>

#include "blocker.h"

static char mode[16] = "sleep";
static uint16_t port = 0;
static bool announce = false;

bool exports_torvyn_streaming_lifecycle_init(torvyn_string_t* config, torvyn_error_t* err) {
    (void)err;
    torvyn_config_str(config, "mode", mode, sizeof mode);
    port = (uint16_t)torvyn_config_u64(config, "port", 0);
    announce = torvyn_config_u64(config, "announce", 0) != 0;
    torvyn_string_free(config);
    return true;
}

static void say_waiting(void) {
    wasi_cli_stderr_own_output_stream_t out = wasi_cli_stderr_get_stderr();
    blocker_list_u8_t text = {(uint8_t*)"waiting\n", 8};
    wasi_io_streams_stream_error_t err;
    if (!wasi_io_streams_method_output_stream_blocking_write_and_flush(
            wasi_io_streams_borrow_output_stream(out), &text, &err) &&
        err.tag == WASI_IO_STREAMS_STREAM_ERROR_LAST_OPERATION_FAILED) {
        wasi_io_error_error_drop_own(err.val.last_operation_failed);
    }
    wasi_io_streams_output_stream_drop_own(out);
}

static void wait_on(wasi_io_poll_own_pollable_t p, bool with_poll) {
    if (with_poll) {
        wasi_io_poll_borrow_pollable_t list[1] = {wasi_io_poll_borrow_pollable(p)};
        wasi_io_poll_list_borrow_pollable_t in = {list, 1};
        blocker_list_u32_t ready;
        wasi_io_poll_poll(&in, &ready);
        blocker_list_u32_free(&ready);
    } else {
        wasi_io_poll_method_pollable_block(wasi_io_poll_borrow_pollable(p));
    }
    wasi_io_poll_pollable_drop_own(p);
}

// Connects to 127.0.0.1:port; on success, if `read`, waits for a byte.
static void connect_and_wait(bool read) {
    wasi_sockets_instance_network_own_network_t net =
        wasi_sockets_instance_network_instance_network();
    wasi_sockets_tcp_create_socket_own_tcp_socket_t sock;
    wasi_sockets_tcp_create_socket_error_code_t code;
    if (!wasi_sockets_tcp_create_socket_create_tcp_socket(
            WASI_SOCKETS_NETWORK_IP_ADDRESS_FAMILY_IPV4, &sock, &code)) {
        wasi_sockets_network_network_drop_own(net);
        return;
    }
    wasi_sockets_tcp_borrow_tcp_socket_t s = wasi_sockets_tcp_borrow_tcp_socket(sock);
    wasi_sockets_tcp_ip_socket_address_t addr;
    addr.tag = WASI_SOCKETS_NETWORK_IP_SOCKET_ADDRESS_IPV4;
    addr.val.ipv4.port = port;
    addr.val.ipv4.address.f0 = 127;
    addr.val.ipv4.address.f1 = 0;
    addr.val.ipv4.address.f2 = 0;
    addr.val.ipv4.address.f3 = 1;
    if (wasi_sockets_tcp_method_tcp_socket_start_connect(
            s, wasi_sockets_network_borrow_network(net), &addr, &code)) {
        wait_on(wasi_sockets_tcp_method_tcp_socket_subscribe(s), false);
        wasi_sockets_tcp_tuple2_own_input_stream_own_output_stream_t streams;
        if (wasi_sockets_tcp_method_tcp_socket_finish_connect(s, &streams, &code)) {
            if (read) {
                blocker_list_u8_t bytes;
                wasi_io_streams_stream_error_t err;
                if (wasi_io_streams_method_input_stream_blocking_read(
                        wasi_io_streams_borrow_input_stream(streams.f0), 1, &bytes, &err)) {
                    blocker_list_u8_free(&bytes);
                } else if (err.tag == WASI_IO_STREAMS_STREAM_ERROR_LAST_OPERATION_FAILED) {
                    wasi_io_error_error_drop_own(err.val.last_operation_failed);
                }
            }
            wasi_io_streams_input_stream_drop_own(streams.f0);
            wasi_io_streams_output_stream_drop_own(streams.f1);
        }
    }
    wasi_sockets_tcp_tcp_socket_drop_own(sock);
    wasi_sockets_network_network_drop_own(net);
}

bool exports_torvyn_streaming_processor_process(
    torvyn_element_t* element, exports_torvyn_streaming_processor_process_result_t* ret,
    torvyn_error_t* err) {
    torvyn_element_done(element);
    if (announce) {
        say_waiting();
    }
    const uint64_t minute = 60ull * 1000 * 1000 * 1000;
    if (strcmp(mode, "sleep") == 0 || strcmp(mode, "poll") == 0) {
        wait_on(wasi_clocks_monotonic_clock_subscribe_duration(minute), strcmp(mode, "poll") == 0);
    } else if (strcmp(mode, "connect") == 0 || strcmp(mode, "read") == 0) {
        connect_and_wait(strcmp(mode, "read") == 0);
    }
    ret->tag = EXPORTS_TORVYN_STREAMING_PROCESSOR_PROCESS_RESULT_EMIT;
    return torvyn_make_output("done", 4, "text/plain", 0, &ret->val.emit, err);
}
