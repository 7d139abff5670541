;; A WASM tool in WAT: reads its JSON arguments from stdin and writes {"echo": <arguments>} on
;; stdout. The ABI (docs/tools.md, "WASM tools"): JSON on stdin, JSON on stdout, exit code 0.
;; Compiled at test time with wasmtime's wat2wasm (tests/tools/test_wasm.py).
(module
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  ;; 0..8: an iovec {ptr, len}; 8: bytes read or written; 16..25: the prefix; 32: the suffix
  (data (i32.const 16) "{\"echo\": ")
  (data (i32.const 32) "}")
  ;; write(ptr, len) to stdout
  (func $write (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_start")
    (local $n i32)
    (call $write (i32.const 16) (i32.const 9))
    ;; copy stdin to stdout in chunks of 64 KiB read at 65536
    (block $done
      (loop $more
        (i32.store (i32.const 0) (i32.const 65536))
        (i32.store (i32.const 4) (i32.const 65536))
        (br_if $done (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
        (local.set $n (i32.load (i32.const 8)))
        (br_if $done (i32.eqz (local.get $n)))
        (call $write (i32.const 65536) (local.get $n))
        (br $more)))
    (call $write (i32.const 32) (i32.const 1))))
