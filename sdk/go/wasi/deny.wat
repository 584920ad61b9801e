;; Torvyn's deny-all `wasi_snapshot_preview1` for Go components.
;;
;; A Go wasip1 module imports WASI preview 1 and its runtime calls some of it
;; while starting (random_get for hash seeds, clock_time_get for the
;; scheduler and GC, args/environ sizes, fd_fdstat_* on stdio). A component
;; with no grants may import nothing but torvyn:streaming, so instead of the
;; standard adapter (which turns these calls into wasi:* imports) the build
;; passes this module to `wasm-tools component new --adapt`: it imports only
;; the main module's memory and answers every call itself.
;;
;;   args, environment   empty
;;   clocks              virtual: every clock reads one counter that starts
;;                       at 0 (1970-01-01T00:00:00Z) and advances 1 us per
;;                       reading; sleeping (poll_oneoff on a clock) moves it
;;                       to the wake-up time at once
;;   random_get          deterministic splitmix64 stream from a seed fixed
;;                       at build time (not secret, not for cryptography)
;;   fd_write on 1 and 2 accepted and discarded (print/panic text vanishes)
;;   other fd_*, sock_*  EBADF (no descriptors exist; ends preopen listing)
;;   path_*              ENOTCAPABLE
;;   proc_exit           trap (a Go panic ends in exit(2): the call traps)
;;   sched_yield         success
;;
;; wit-component's adapter rules: import the memory as env.memory, no data
;; or element segments, no shadow stack (everything lives in locals and two
;; globals). The build replaces the seed constant below.
(module
  (import "env" "memory" (memory 0))

  (global $now (mut i64) (i64.const 0))
  (global $rng (mut i64) (i64.const 0x5eed5eed5eed5eed)) ;; TORVYN_SEED

  (func $tick (result i64)
    (global.set $now (i64.add (global.get $now) (i64.const 1000)))
    (global.get $now))

  (func $next_random (result i64)
    (local $z i64)
    (global.set $rng (i64.add (global.get $rng) (i64.const 0x9e3779b97f4a7c15)))
    (local.set $z (global.get $rng))
    (local.set $z (i64.mul (i64.xor (local.get $z) (i64.shr_u (local.get $z) (i64.const 30)))
                           (i64.const 0xbf58476d1ce4e5b9)))
    (local.set $z (i64.mul (i64.xor (local.get $z) (i64.shr_u (local.get $z) (i64.const 27)))
                           (i64.const 0x94d049bb133111eb)))
    (i64.xor (local.get $z) (i64.shr_u (local.get $z) (i64.const 31))))

  ;; --- arguments and environment: none -------------------------------------
  (func (export "args_sizes_get") (param $argc i32) (param $size i32) (result i32)
    (i32.store (local.get $argc) (i32.const 0))
    (i32.store (local.get $size) (i32.const 0))
    (i32.const 0))
  (func (export "args_get") (param i32 i32) (result i32) (i32.const 0))
  (func (export "environ_sizes_get") (param $n i32) (param $size i32) (result i32)
    (i32.store (local.get $n) (i32.const 0))
    (i32.store (local.get $size) (i32.const 0))
    (i32.const 0))
  (func (export "environ_get") (param i32 i32) (result i32) (i32.const 0))

  ;; --- clocks: virtual ----------------------------------------------------
  (func (export "clock_res_get") (param $id i32) (param $out i32) (result i32)
    (if (i32.gt_u (local.get $id) (i32.const 3)) (then (return (i32.const 28))))
    (i64.store (local.get $out) (i64.const 1000))
    (i32.const 0))
  (func (export "clock_time_get") (param $id i32) (param i64) (param $out i32) (result i32)
    (if (i32.gt_u (local.get $id) (i32.const 3)) (then (return (i32.const 28))))
    (i64.store (local.get $out) (call $tick))
    (i32.const 0))
  ;; The Go runtime pauses the adapter's clock around cabi_realloc; this clock
  ;; makes no host calls, so there is nothing to pause.
  (func (export "adapter_monotonic_clock_set_paused") (param i32))

  ;; Every clock subscription fires at once (the virtual clock jumps to its
  ;; deadline); every descriptor subscription reports EBADF.
  (func (export "poll_oneoff") (param $in i32) (param $out i32) (param $n i32) (param $nevents i32) (result i32)
    (local $i i32) (local $sub i32) (local $ev i32) (local $tag i32) (local $t i64)
    (if (i32.eqz (local.get $n)) (then (return (i32.const 28))))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $sub (i32.add (local.get $in) (i32.mul (local.get $i) (i32.const 48))))
        (local.set $ev (i32.add (local.get $out) (i32.mul (local.get $i) (i32.const 32))))
        (local.set $tag (i32.load8_u offset=8 (local.get $sub)))
        (i64.store (local.get $ev) (i64.load (local.get $sub)))
        (i32.store8 offset=10 (local.get $ev) (local.get $tag))
        (i64.store offset=16 (local.get $ev) (i64.const 0))
        (i32.store16 offset=24 (local.get $ev) (i32.const 0))
        (if (i32.eqz (local.get $tag))
          (then
            (i32.store16 offset=8 (local.get $ev) (i32.const 0))
            (local.set $t (i64.load offset=24 (local.get $sub)))
            (if (i32.and (i32.load16_u offset=40 (local.get $sub)) (i32.const 1))
              (then (if (i64.gt_u (local.get $t) (global.get $now))
                      (then (global.set $now (local.get $t)))))
              (else (global.set $now (i64.add (global.get $now) (local.get $t))))))
          (else (i32.store16 offset=8 (local.get $ev) (i32.const 8))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (i32.store (local.get $nevents) (local.get $n))
    (i32.const 0))

  ;; --- randomness: fixed build-time seed ---------------------------------
  (func (export "random_get") (param $buf i32) (param $len i32) (result i32)
    (local $i i32) (local $z i64)
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (if (i32.eqz (i32.and (local.get $i) (i32.const 7)))
          (then (local.set $z (call $next_random))))
        (i32.store8 (i32.add (local.get $buf) (local.get $i)) (i32.wrap_i64 (local.get $z)))
        (local.set $z (i64.shr_u (local.get $z) (i64.const 8)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (i32.const 0))

  ;; --- process ------------------------------------------------------------
  (func (export "proc_exit") (param i32) (unreachable))
  (func (export "proc_raise") (param i32) (result i32) (i32.const 52))
  (func (export "sched_yield") (result i32) (i32.const 0))

  ;; --- descriptors: none (stdout and stderr swallow what is written) ------
  (func (export "fd_write") (param $fd i32) (param $iovs i32) (param $n i32) (param $written i32) (result i32)
    (local $total i32)
    (if (i32.or (i32.lt_u (local.get $fd) (i32.const 1)) (i32.gt_u (local.get $fd) (i32.const 2)))
      (then (return (i32.const 8))))
    (block $done
      (loop $each
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $total (i32.add (local.get $total) (i32.load offset=4 (local.get $iovs))))
        (local.set $iovs (i32.add (local.get $iovs) (i32.const 8)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $each)))
    (i32.store (local.get $written) (local.get $total))
    (i32.const 0))
  (func (export "fd_read") (param i32 i32 i32 i32) (result i32) (i32.const 8))
  (func (export "fd_pread") (param i32 i32 i32 i64 i32) (result i32) (i32.const 8))
  (func (export "fd_pwrite") (param i32 i32 i32 i64 i32) (result i32) (i32.const 8))
  (func (export "fd_close") (param i32) (result i32) (i32.const 8))
  (func (export "fd_sync") (param i32) (result i32) (i32.const 8))
  (func (export "fd_datasync") (param i32) (result i32) (i32.const 8))
  (func (export "fd_advise") (param i32 i64 i64 i32) (result i32) (i32.const 8))
  (func (export "fd_allocate") (param i32 i64 i64) (result i32) (i32.const 8))
  (func (export "fd_fdstat_get") (param i32 i32) (result i32) (i32.const 8))
  (func (export "fd_fdstat_set_flags") (param i32 i32) (result i32) (i32.const 8))
  (func (export "fd_fdstat_set_rights") (param i32 i64 i64) (result i32) (i32.const 8))
  (func (export "fd_filestat_get") (param i32 i32) (result i32) (i32.const 8))
  (func (export "fd_filestat_set_size") (param i32 i64) (result i32) (i32.const 8))
  (func (export "fd_filestat_set_times") (param i32 i64 i64 i32) (result i32) (i32.const 8))
  (func (export "fd_prestat_get") (param i32 i32) (result i32) (i32.const 8))
  (func (export "fd_prestat_dir_name") (param i32 i32 i32) (result i32) (i32.const 8))
  (func (export "fd_readdir") (param i32 i32 i32 i64 i32) (result i32) (i32.const 8))
  (func (export "fd_renumber") (param i32 i32) (result i32) (i32.const 8))
  (func (export "fd_seek") (param i32 i64 i32 i32) (result i32) (i32.const 8))
  (func (export "fd_tell") (param i32 i32) (result i32) (i32.const 8))
  (func (export "sock_accept") (param i32 i32 i32) (result i32) (i32.const 8))
  (func (export "sock_recv") (param i32 i32 i32 i32 i32 i32) (result i32) (i32.const 8))
  (func (export "sock_send") (param i32 i32 i32 i32 i32) (result i32) (i32.const 8))
  (func (export "sock_shutdown") (param i32 i32) (result i32) (i32.const 8))

  ;; --- paths: not capable -------------------------------------------------
  (func (export "path_create_directory") (param i32 i32 i32) (result i32) (i32.const 76))
  (func (export "path_filestat_get") (param i32 i32 i32 i32 i32) (result i32) (i32.const 76))
  (func (export "path_filestat_set_times") (param i32 i32 i32 i32 i64 i64 i32) (result i32) (i32.const 76))
  (func (export "path_link") (param i32 i32 i32 i32 i32 i32 i32) (result i32) (i32.const 76))
  (func (export "path_open") (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32) (i32.const 76))
  (func (export "path_readlink") (param i32 i32 i32 i32 i32 i32) (result i32) (i32.const 76))
  (func (export "path_remove_directory") (param i32 i32 i32) (result i32) (i32.const 76))
  (func (export "path_rename") (param i32 i32 i32 i32 i32 i32) (result i32) (i32.const 76))
  (func (export "path_symlink") (param i32 i32 i32 i32 i32) (result i32) (i32.const 76))
  (func (export "path_unlink_file") (param i32 i32 i32) (result i32) (i32.const 76))
)
