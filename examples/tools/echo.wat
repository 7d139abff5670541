;; A WASM tool in WAT: reads its JSON arguments from stdin and writes {"echo": <arguments>} on
;; stdout. The ABI (docs/tools.md, "WASM tools"): JSON on stdin, JSON on stdout, exit code 0.
;; Compiled at test time with wasmtime's wat2wasm (tests/tools/test_wasm.py).
;;
;; It builds its whole answer in memory and writes it with one fd_write: each WASI call costs
;; more than the rest of the tool (about 0.1-0.3 ms in wasmtime-py), so a tool writes once.
(module
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  ;; 0..8: an iovec {ptr, len}; 8: bytes read or written. The answer is built from 1015 on:
  ;; the 9-byte prefix, then stdin as read (from 1024), then "}".
  (data (i32.const 1015) "{\"echo\": ")
  (func (export "_start")
    (local $end i32)
    (local.set $end (i32.const 1024))
    (block $done
      (loop $more
        ;; keep 64 KiB of room after $end: grow the memory when there is less
        (if (i32.gt_u (i32.add (local.get $end) (i32.const 65536))
                      (i32.mul (memory.size) (i32.const 65536)))
          (then (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))))
        (i32.store (i32.const 0) (local.get $end))
        (i32.store (i32.const 4) (i32.const 65536))
        (br_if $done (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
        (br_if $done (i32.eqz (i32.load (i32.const 8))))
        (local.set $end (i32.add (local.get $end) (i32.load (i32.const 8))))
        (br $more)))
    (i32.store8 (local.get $end) (i32.const 125)) ;; "}"
    (i32.store (i32.const 0) (i32.const 1015))
    (i32.store (i32.const 4) (i32.sub (i32.add (local.get $end) (i32.const 1)) (i32.const 1015)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
