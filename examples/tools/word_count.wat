;; word_count: a WASM tool in WAT that counts the words of a text.
;; Arguments (stdin): {"text": "..."}; result (stdout): {"words": N}. A word is a run of
;; characters that are not spaces, tabs or line breaks (escaped in JSON as \n, \t, \r).
;; The ABI (docs/tools.md, "WASM tools"): JSON on stdin, JSON on stdout, exit code 0.
;; axoc loads .wat files directly (wasmtime's wat2wasm compiles them when the run loads its
;; tools); tests/tools/test_wasm_example.py runs it through axoc run.
;;
;; The toolbox checks the arguments against the tool's parameters before the call, so stdin is
;; exactly {"text": "<string>"}: the string starts at the first '"' after the first ':'.
;; Input that is not so shaped exits with code 2 (a tool error the model sees).
(module
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 2)
  ;; 0..8: an iovec {ptr, len}; 8: bytes read or written. 512: the answer, built after its
  ;; 10-byte prefix. 1024 on: stdin as read.
  (data (i32.const 512) "{\"words\": ")

  ;; read all of stdin to 1024..; returns the end offset
  (func $read_all (result i32)
    (local $end i32)
    (local.set $end (i32.const 1024))
    (block $done
      (loop $more
        (if (i32.gt_u (i32.add (local.get $end) (i32.const 65536))
                      (i32.mul (memory.size) (i32.const 65536)))
          (then (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))))
        (i32.store (i32.const 0) (local.get $end))
        (i32.store (i32.const 4) (i32.const 65536))
        (br_if $done (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
        (br_if $done (i32.eqz (i32.load (i32.const 8))))
        (local.set $end (i32.add (local.get $end) (i32.load (i32.const 8))))
        (br $more)))
    (local.get $end))

  ;; the offset of the first byte `b` in [at, end), or exit 2 when there is none
  (func $find (param $at i32) (param $end i32) (param $b i32) (result i32)
    (loop $scan
      (if (i32.ge_u (local.get $at) (local.get $end))
        (then (call $proc_exit (i32.const 2)) (unreachable)))
      (if (i32.eq (i32.load8_u (local.get $at)) (local.get $b))
        (then (return (local.get $at))))
      (local.set $at (i32.add (local.get $at) (i32.const 1)))
      (br $scan))
    (unreachable))

  ;; count the words of the JSON string starting after `at` (its opening quote)
  (func $count (param $at i32) (param $end i32) (result i32)
    (local $b i32) (local $space i32) (local $in_word i32) (local $words i32)
    (block $done
      (loop $next
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $b (i32.load8_u (local.get $at)))
        (br_if $done (i32.eq (local.get $b) (i32.const 34)))  ;; '"': the string's end
        (local.set $space (i32.eq (local.get $b) (i32.const 32)))  ;; ' '
        (if (i32.eq (local.get $b) (i32.const 92))  ;; '\': an escape, two bytes
          (then
            (local.set $at (i32.add (local.get $at) (i32.const 1)))
            (local.set $b (i32.load8_u (local.get $at)))
            (local.set $space
              (i32.or (i32.eq (local.get $b) (i32.const 110))  ;; \n
                (i32.or (i32.eq (local.get $b) (i32.const 116))  ;; \t
                        (i32.eq (local.get $b) (i32.const 114)))))))  ;; \r
        (if (local.get $space)
          (then (local.set $in_word (i32.const 0)))
          (else
            (if (i32.eqz (local.get $in_word))
              (then (local.set $words (i32.add (local.get $words) (i32.const 1)))))
            (local.set $in_word (i32.const 1))))
        (br $next)))
    (local.get $words))

  (func (export "_start")
    (local $end i32) (local $n i32) (local $digits i32) (local $p i32)
    (local.set $end (call $read_all))
    (local.set $n
      (call $count
        (call $find (call $find (i32.const 1024) (local.get $end) (i32.const 58))  ;; ':'
                    (local.get $end) (i32.const 34))  ;; then '"'
        (local.get $end)))
    ;; the number of digits of $n (at least one)
    (local.set $digits (i32.const 1))
    (local.set $p (local.get $n))
    (block $counted
      (loop $more
        (local.set $p (i32.div_u (local.get $p) (i32.const 10)))
        (br_if $counted (i32.eqz (local.get $p)))
        (local.set $digits (i32.add (local.get $digits) (i32.const 1)))
        (br $more)))
    ;; the digits, last first, after the prefix; then "}"
    (local.set $p (i32.add (i32.const 522) (local.get $digits)))
    (i32.store8 (local.get $p) (i32.const 125))
    (loop $digit
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p)
        (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $digit (i32.gt_u (local.get $p) (i32.const 522))))
    (i32.store (i32.const 0) (i32.const 512))
    (i32.store (i32.const 4) (i32.add (i32.const 11) (local.get $digits)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
