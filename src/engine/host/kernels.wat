;; Host kernels: small loops onnxruntime's CPU kernels do badly or wrongly, in WebAssembly SIMD (128-bit) so they run
;; at a few GB/s from Node. Assembled by scripts/build-wasm.mjs (wabt) into dist/src/engine/host/kernels.wasm.
;; Memory is managed from JavaScript (wasm.ts); every pointer below is a byte offset into it. It is imported and
;; shared, so a worker thread can run the same kernel on another range of rows of the same buffers.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; row_sum: out[t, :] = sum over q in [seg[t], seg[t+1]) of coef[q] * src[row[q], :], for t in [t0, t1).
  ;; The entries are pre-sorted by output row (row-sum.ts), so each output row is written once, by one pass, in a
  ;; fixed order: the result does not depend on threads or timing. Rows with no entry are written as zeros.
  ;; out: f32 [T, D]; src: f32 [R, D]; seg: i32 [T + 1]; row: i32 [N]; coef: f32 [N].
  (func (export "row_sum")
    (param $out i32) (param $src i32) (param $seg i32) (param $row i32) (param $coef i32)
    (param $t0 i32) (param $t1 i32) (param $D i32)
    (local $t i32) (local $q i32) (local $qEnd i32) (local $o i32) (local $s i32) (local $c v128) (local $cs f32)
    (local $e i32) (local $D16 i32) (local $D4 i32) (local $rowBytes i32) (local $a i32) (local $b i32)
    (local.set $D16 (i32.and (local.get $D) (i32.const -16)))
    (local.set $D4 (i32.and (local.get $D) (i32.const -4)))
    (local.set $rowBytes (i32.shl (local.get $D) (i32.const 2)))
    (local.set $t (local.get $t0))
    (block $done (loop $rows
      (br_if $done (i32.ge_u (local.get $t) (local.get $t1)))
      (local.set $o (i32.add (local.get $out) (i32.mul (local.get $t) (local.get $rowBytes))))
      (memory.fill (local.get $o) (i32.const 0) (local.get $rowBytes))
      (local.set $q (i32.load (i32.add (local.get $seg) (i32.shl (local.get $t) (i32.const 2)))))
      (local.set $qEnd (i32.load offset=4 (i32.add (local.get $seg) (i32.shl (local.get $t) (i32.const 2)))))
      (block $segdone (loop $entries
        (br_if $segdone (i32.ge_u (local.get $q) (local.get $qEnd)))
        (local.set $cs (f32.load (i32.add (local.get $coef) (i32.shl (local.get $q) (i32.const 2)))))
        (local.set $c (f32x4.splat (local.get $cs)))
        (local.set $s (i32.add (local.get $src)
          (i32.mul (i32.load (i32.add (local.get $row) (i32.shl (local.get $q) (i32.const 2)))) (local.get $rowBytes))))
        (local.set $e (i32.const 0))
        ;; 16 floats per iteration, then 4, then 1 (any D).
        (block $d16 (loop $v16
          (br_if $d16 (i32.ge_u (local.get $e) (local.get $D16)))
          (local.set $a (i32.add (local.get $o) (i32.shl (local.get $e) (i32.const 2))))
          (local.set $b (i32.add (local.get $s) (i32.shl (local.get $e) (i32.const 2))))
          (v128.store offset=0 (local.get $a) (f32x4.add (v128.load offset=0 (local.get $a)) (f32x4.mul (local.get $c) (v128.load offset=0 (local.get $b)))))
          (v128.store offset=16 (local.get $a) (f32x4.add (v128.load offset=16 (local.get $a)) (f32x4.mul (local.get $c) (v128.load offset=16 (local.get $b)))))
          (v128.store offset=32 (local.get $a) (f32x4.add (v128.load offset=32 (local.get $a)) (f32x4.mul (local.get $c) (v128.load offset=32 (local.get $b)))))
          (v128.store offset=48 (local.get $a) (f32x4.add (v128.load offset=48 (local.get $a)) (f32x4.mul (local.get $c) (v128.load offset=48 (local.get $b)))))
          (local.set $e (i32.add (local.get $e) (i32.const 16)))
          (br $v16)))
        (block $d4 (loop $v4
          (br_if $d4 (i32.ge_u (local.get $e) (local.get $D4)))
          (local.set $a (i32.add (local.get $o) (i32.shl (local.get $e) (i32.const 2))))
          (local.set $b (i32.add (local.get $s) (i32.shl (local.get $e) (i32.const 2))))
          (v128.store (local.get $a) (f32x4.add (v128.load (local.get $a)) (f32x4.mul (local.get $c) (v128.load (local.get $b)))))
          (local.set $e (i32.add (local.get $e) (i32.const 4)))
          (br $v4)))
        (block $d1 (loop $v1
          (br_if $d1 (i32.ge_u (local.get $e) (local.get $D)))
          (local.set $a (i32.add (local.get $o) (i32.shl (local.get $e) (i32.const 2))))
          (local.set $b (i32.add (local.get $s) (i32.shl (local.get $e) (i32.const 2))))
          (f32.store (local.get $a) (f32.add (f32.load (local.get $a)) (f32.mul (local.get $cs) (f32.load (local.get $b)))))
          (local.set $e (i32.add (local.get $e) (i32.const 1)))
          (br $v1)))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (br $entries)))
      (local.set $t (i32.add (local.get $t) (i32.const 1)))
      (br $rows)))
  )
)
