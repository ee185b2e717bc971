// Architecture fragments on tiny inputs: the registry, JumpReLU's and the Gated SAE's (pseudo-)gradients against the
// formulas in the papers computed by hand, and the sparse TopK / BatchTopK gradients against dense autodiff.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph } from '../../src/engine/graph/graph.js';
import { grad } from '../../src/engine/grad/backward.js';
import { compile } from '../../src/engine/session/session.js';
import { NDArray } from '../../src/engine/ndarray.js';
import * as op from '../../src/engine/ops/index.js';
import { ProbityError } from '../../src/errors.js';
import { architectureNames, getArchitecture, registerArchitecture } from '../../src/dictionaries/architectures/registry.js';
import { heaviside, jumpRelu } from '../../src/dictionaries/architectures/jumprelu.js';
import { decodeCode, mseLoss } from '../../src/dictionaries/architectures/common.js';
import { normalizeConfig, Sae } from '../../src/dictionaries/sae.js';
import { randn, relErr, runLoss } from './graph-helpers.js';

test('registry: the five architectures, duplicates refused, unknown names list the known ones', () => {
  assert.deepEqual(architectureNames().sort(), ['batchtopk', 'gated', 'jumprelu', 'standard', 'topk']);
  assert.throws(() => registerArchitecture(getArchitecture('topk')), (e: unknown) => e instanceof ProbityError && e.code === 'SAE_ARCHITECTURE_DUPLICATE');
  assert.throws(
    () => getArchitecture('relu2'),
    (e: unknown) => e instanceof ProbityError && e.code === 'SAE_ARCHITECTURE_UNKNOWN' && /"relu2".*standard, topk, batchtopk, jumprelu, gated/.test(e.message),
  );
  assert.throws(() => normalizeConfig({ architecture: 'topk', dIn: 4, dSae: 8, hookName: 'h' }), (e: unknown) => e instanceof ProbityError && /k must be/.test(e.message));
  assert.throws(
    () => normalizeConfig({ architecture: 'standard', dIn: 4, dOut: 6, dSae: 8, hookName: 'h', applyBDecToInput: true }),
    (e: unknown) => e instanceof ProbityError && /applyBDecToInput/.test(e.message),
  );
});

/** Gradients of sum(w * fn(z, theta)) with respect to z and theta. */
async function pseudo(fn: 'jump' | 'step', z: number[], theta: number[], w: number[], eps: number) {
  const B = z.length / theta.length;
  const S = theta.length;
  const g = new Graph('pseudo');
  const zt = g.input('z', 'float32', [B, S]);
  const tt = g.input('theta', 'float32', [S]);
  const wt = g.input('w', 'float32', [B, S]);
  const y = fn === 'jump' ? jumpRelu(zt, tt, eps) : heaviside(zt, tt, eps);
  g.output(y, 'y');
  const loss = op.reduceSum(op.mul(y, wt), [0, 1]);
  const [dz, dt] = grad(loss, [zt, tt]);
  g.output(dz, 'dz');
  g.output(dt, 'dtheta');
  const out = await (await compile(g, { threads: 1 })).run({ z: NDArray.f32(z, [B, S]), theta: NDArray.f32(theta, [S]), w: NDArray.f32(w, [B, S]) });
  return { y: out.y.toArray(), dz: out.dz.toArray(), dtheta: out.dtheta.toArray() };
}

test('JumpReLU: forward and pseudo-derivatives match the paper by hand (rectangle kernel, bandwidth eps)', async () => {
  // theta = [0.1, 0.2, 0.1], eps = 0.02: the kernel window is |z - theta| < 0.01.
  const theta = [0.1, 0.2, 0.1];
  const z = [0.105, 0.5, 0.095, /* row 2 */ 0.3, 0.195, -0.1];
  const w = [1, 2, 3, 4, 5, 6];
  const j = await pseudo('jump', z, theta, w, 0.02);
  // f = z H(z - theta)
  j.y.forEach((v, i) => assert.ok(Math.abs(v - [0.105, 0.5, 0, 0.3, 0, 0][i]) < 1e-7, `f[${i}] = ${v}`));
  // d/dz = H(z - theta) (times w)
  assert.deepEqual(j.dz, [1, 2, 0, 4, 0, 0]);
  // d/dtheta = sum_b w * -(theta/eps) K((z - theta)/eps): in-window entries are (0,0), (1,1), (0,2).
  //   theta_0: 1 * -(0.1/0.02) = -5;  theta_1: 5 * -(0.2/0.02) = -50;  theta_2: 3 * -(0.1/0.02) = -15
  [-5, -50, -15].forEach((e, i) => assert.ok(Math.abs(j.dtheta[i] - e) < 1e-4, `dtheta[${i}] = ${j.dtheta[i]}, expected ${e}`));

  const h = await pseudo('step', z, theta, w, 0.02);
  assert.deepEqual(h.y, [1, 1, 0, 1, 0, 0]);
  assert.deepEqual(h.dz, [0, 0, 0, 0, 0, 0]); // no gradient to z from the L0 term
  // d/dtheta H = sum_b w * -(1/eps) K: theta_0: 1 * -50; theta_1: 5 * -50; theta_2: 3 * -50
  [-50, -250, -150].forEach((e, i) => assert.ok(Math.abs(h.dtheta[i] - e) < 1e-3, `dtheta[${i}] = ${h.dtheta[i]}, expected ${e}`));
});

test('JumpReLU loss: d loss / d log_threshold = theta * (MSE and L0 pseudo-gradients), computed by hand', async () => {
  const cfg = normalizeConfig({ architecture: 'jumprelu', dIn: 3, dSae: 4, hookName: 'h', bandwidth: 0.8, applyBDecToInput: false });
  const arch = getArchitecture('jumprelu');
  const B = 3, D = 3, S = 4, eps = 0.8, lambda = 0.7;
  const p = {
    W_encT: randn(S * D, 11, 0.8),
    W_dec: randn(S * D, 12, 0.5),
    b_enc: randn(S, 13, 0.2),
    b_dec: randn(D, 14, 0.1),
    log_threshold: Float32Array.from([0.1, 0.3, 0.2, 0.05], Math.log),
  };
  const x = randn(B * D, 15);
  const r = await runLoss(arch, cfg, p, x, B, { wrt: ['log_threshold', 'b_enc'], coeff: lambda });
  // Host: z, f, xhat, dL/df.
  const theta = Array.from(p.log_threshold, Math.exp);
  const z: number[][] = [], f: number[][] = [];
  for (let b = 0; b < B; b++) {
    z.push([]);
    f.push([]);
    for (let s = 0; s < S; s++) {
      let acc = p.b_enc[s];
      for (let d = 0; d < D; d++) acc += x[b * D + d] * p.W_encT[s * D + d];
      z[b].push(acc);
      f[b].push(acc > theta[s] ? acc : 0);
    }
  }
  const dLogTheta = new Array(S).fill(0);
  const dBenc = new Array(S).fill(0);
  let mse = 0, l0 = 0;
  for (let b = 0; b < B; b++) {
    const e = new Array(D).fill(0);
    for (let d = 0; d < D; d++) {
      let xh = p.b_dec[d];
      for (let s = 0; s < S; s++) xh += f[b][s] * p.W_dec[s * D + d];
      e[d] = xh - x[b * D + d];
      mse += (e[d] * e[d]) / B;
    }
    for (let s = 0; s < S; s++) {
      let dLdf = 0;
      for (let d = 0; d < D; d++) dLdf += (2 / B) * e[d] * p.W_dec[s * D + d];
      const K = Math.abs((z[b][s] - theta[s]) / eps) < 0.5 ? 1 : 0;
      l0 += z[b][s] > theta[s] ? 1 / B : 0;
      const dTheta = dLdf * (-(theta[s] / eps) * K) + (lambda / B) * (-(1 / eps) * K);
      dLogTheta[s] += theta[s] * dTheta;
      dBenc[s] += dLdf * (z[b][s] > theta[s] ? 1 : 0);
    }
  }
  assert.ok(Math.abs(r.loss - (mse + lambda * l0)) < 1e-4, `loss ${r.loss} vs ${mse + lambda * l0}`);
  assert.ok(dLogTheta.some((v) => Math.abs(v) > 1e-3), 'the test should exercise the kernel window');
  assert.ok(relErr(r.grads.log_threshold, dLogTheta) < 1e-4, `dlog_threshold ${Array.from(r.grads.log_threshold)} vs ${dLogTheta}`);
  assert.ok(relErr(r.grads.b_enc, dBenc) < 1e-4, `db_enc ${Array.from(r.grads.b_enc)} vs ${dBenc}`);
});

test('Gated: the gate learns only from the L1 and auxiliary terms; the auxiliary loss does not train the decoder', async () => {
  const B = 3, D = 3, S = 4, lambda = 0.6;
  const cfg = normalizeConfig({ architecture: 'gated', dIn: D, dSae: S, hookName: 'h' });
  const arch = getArchitecture('gated');
  const p = {
    W_dec: randn(S * D, 21, 0.6),
    W_encT: randn(S * D, 22, 0.9),
    b_gate: randn(S, 23, 0.3),
    r_mag: randn(S, 24, 0.3),
    b_mag: randn(S, 25, 0.3),
    b_dec: randn(D, 26, 0.2),
  };
  const x = randn(B * D, 27);
  const r = await runLoss(arch, cfg, p, x, B, { wrt: ['b_gate', 'W_dec', 'r_mag'], coeff: lambda });
  const norms = Array.from({ length: S }, (_, s) => Math.hypot(...Array.from(p.W_dec.subarray(s * D, (s + 1) * D))));
  const dBgate = new Array(S).fill(0);
  const dWdec = new Array(S * D).fill(0);
  let total = 0;
  let gateOpen = 0;
  for (let b = 0; b < B; b++) {
    const xc = Array.from({ length: D }, (_, d) => x[b * D + d] - p.b_dec[d]);
    const gate: number[] = [], f: number[] = [];
    for (let s = 0; s < S; s++) {
      let pg = p.b_gate[s], pm = p.b_mag[s];
      for (let d = 0; d < D; d++) {
        pg += xc[d] * p.W_encT[s * D + d];
        pm += xc[d] * p.W_encT[s * D + d] * Math.exp(p.r_mag[s]);
      }
      gate.push(Math.max(0, pg));
      f.push(pg > 0 ? Math.max(0, pm) : 0);
      if (pg > 0) gateOpen++;
    }
    const e: number[] = [], ea: number[] = [];
    for (let d = 0; d < D; d++) {
      let xh = p.b_dec[d], xa = p.b_dec[d];
      for (let s = 0; s < S; s++) {
        xh += f[s] * p.W_dec[s * D + d];
        xa += gate[s] * p.W_dec[s * D + d];
      }
      e.push(xh - x[b * D + d]);
      ea.push(xa - x[b * D + d]);
      total += (e[d] ** 2 + ea[d] ** 2) / B;
    }
    for (let s = 0; s < S; s++) {
      total += (lambda / B) * gate[s] * norms[s];
      if (gate[s] > 0) {
        // b_gate: L1 and aux only (the Heaviside passes nothing from the main MSE).
        let auxDot = 0;
        for (let d = 0; d < D; d++) auxDot += ea[d] * p.W_dec[s * D + d];
        dBgate[s] += (lambda / B) * norms[s] + (2 / B) * auxDot;
      }
      // W_dec: main MSE and L1 (aux decodes with a frozen copy).
      for (let d = 0; d < D; d++) dWdec[s * D + d] += (2 / B) * f[s] * e[d] + ((lambda / B) * gate[s] * p.W_dec[s * D + d]) / norms[s];
    }
  }
  assert.ok(gateOpen > 2 && gateOpen < B * S, `gate open ${gateOpen} of ${B * S}: the test should have both`);
  assert.ok(Math.abs(r.loss - total) < 1e-4, `loss ${r.loss} vs ${total}`);
  assert.ok(relErr(r.grads.b_gate, dBgate) < 1e-4, `db_gate ${Array.from(r.grads.b_gate)} vs ${dBgate}`);
  assert.ok(relErr(r.grads.W_dec, dWdec) < 1e-4, `dW_dec ${Array.from(r.grads.W_dec)} vs ${dWdec}`);
  assert.ok(r.grads.r_mag.some((v) => v !== 0), 'the magnitude path learns from the MSE');
});

test('TopK: the sparse hand-written gradient equals dense autodiff; AuxK reaches only dead latents', async () => {
  const B = 5, D = 6, S = 10, k = 3;
  const cfg = normalizeConfig({ architecture: 'topk', dIn: D, dSae: S, k, hookName: 'h', auxK: 4 });
  const arch = getArchitecture('topk');
  const p = { W_dec: randn(S * D, 31, 0.4), W_encT: randn(S * D, 32, 0.7), b_enc: randn(S, 33, 0.2), b_dec: randn(D, 34, 0.3) };
  const x = randn(B * D, 35);
  const wrt = ['W_encT', 'b_enc', 'W_dec', 'b_dec'];
  const sparse = await runLoss(arch, cfg, p, x, B, { wrt });
  const dense = await runLoss(arch, cfg, p, x, B, {
    wrt,
    build: (q, xt) => {
      const pre = op.gemm(op.sub(xt, q.b_dec), q.W_encT, { transB: true }, q.b_enc);
      const [vals, idx] = op.topk(pre, k, -1);
      const f = op.scatterElements(op.zerosLike(pre), idx, op.relu(vals), 1);
      return mseLoss(decodeCode(q, { kind: 'dense', acts: f }), xt);
    },
  });
  assert.ok(Math.abs(sparse.loss - dense.loss) < 1e-5);
  for (const n of wrt) assert.ok(relErr(sparse.grads[n], dense.grads[n]) < 1e-5, `${n}: sparse ${Array.from(sparse.grads[n])} vs dense ${Array.from(dense.grads[n])}`);
  assert.equal(sparse.firing.reduce((a, b) => a + b, 0), sparse.metrics.l0 * B);

  // AuxK with latents 0..4 dead: W_encT rows of live latents get exactly the main-loss gradient.
  const dead = Float32Array.from({ length: S }, (_, s) => (s < 5 ? 1 : 0));
  const aux = await runLoss(arch, cfg, p, x, B, { wrt, deadMask: dead });
  assert.ok(aux.metrics.auxk > 0);
  for (let s = 0; s < S; s++) {
    const row = (g: Float32Array) => Array.from(g.subarray(s * D, (s + 1) * D));
    if (s >= 5) assert.ok(relErr(row(aux.grads.W_encT), row(sparse.grads.W_encT)) < 1e-6, `live latent ${s} changed by AuxK`);
  }
  assert.ok(relErr(aux.grads.W_encT, sparse.grads.W_encT) > 1e-4, 'AuxK must move some dead latent');
});

test('BatchTopK: keeps the B*k largest activations of the batch; sparse gradient equals dense autodiff', async () => {
  const B = 4, D = 5, S = 6, k = 2;
  const cfg = normalizeConfig({ architecture: 'batchtopk', dIn: D, dSae: S, k, hookName: 'h' });
  const arch = getArchitecture('batchtopk');
  const p = { W_dec: randn(S * D, 41, 0.4), W_encT: randn(S * D, 42, 0.7), b_enc: randn(S, 43, 0.2), b_dec: randn(D, 44, 0.3), threshold: new Float32Array(S) };
  const x = randn(B * D, 45);
  const wrt = ['W_encT', 'b_enc', 'W_dec', 'b_dec'];
  const r = await runLoss(arch, cfg, p, x, B, { wrt });
  // Host: relu(pre) of the batch, the B*k largest kept.
  const pre: number[] = [];
  for (let b = 0; b < B; b++) for (let s = 0; s < S; s++) {
    let acc = p.b_enc[s];
    for (let d = 0; d < D; d++) acc += (x[b * D + d] - p.b_dec[d]) * p.W_encT[s * D + d];
    pre.push(Math.max(0, acc));
  }
  const kept = pre.map((v, i) => [v, i]).sort((a, b) => b[0] - a[0]).slice(0, B * k);
  let mse = 0;
  for (let b = 0; b < B; b++) for (let d = 0; d < D; d++) {
    let xh = p.b_dec[d];
    for (const [v, i] of kept) if (Math.floor(i / S) === b) xh += v * p.W_dec[(i % S) * D + d];
    mse += (xh - x[b * D + d]) ** 2 / B;
  }
  assert.ok(Math.abs(r.loss - mse) < 1e-5, `loss ${r.loss} vs ${mse}`);
  assert.ok(Math.abs(r.metrics.batch_threshold - kept[B * k - 1][0]) < 1e-6);
  assert.ok(Math.abs(r.metrics.l0 - kept.filter(([v]) => v > 0).length / B) < 1e-6);
  const dense = await runLoss(arch, cfg, p, x, B, {
    wrt,
    build: (q, xt) => {
      const pr = op.relu(op.gemm(op.sub(xt, q.b_dec), q.W_encT, { transB: true }, q.b_enc));
      const flat = op.reshape(pr, [B * S]);
      const [vals, idx] = op.topk(flat, B * k, -1);
      const f = op.reshape(op.scatterElements(op.zerosLike(flat), idx, vals, 0), [B, S]);
      return mseLoss(decodeCode(q, { kind: 'dense', acts: f }), xt);
    },
  });
  for (const n of wrt) assert.ok(relErr(r.grads[n], dense.grads[n]) < 1e-5, `${n}: sparse vs dense`);
  // The threshold statistic: cumulative mean, then moving average.
  const th = new Float32Array(S);
  arch.afterStep!({ threshold: th }, { batch_threshold: 2 }, 1, cfg);
  arch.afterStep!({ threshold: th }, { batch_threshold: 4 }, 2, cfg);
  assert.ok(th.every((v) => v === 3));
  // Inference is a JumpReLU with that threshold.
  const sae = new Sae(cfg, { ...p, threshold: new Float32Array(S).fill(0.3) });
  const code = await sae.encodeDense(x, B);
  pre.forEach((v, i) => assert.ok(Math.abs(code[i] - (v > 0.3 ? v : 0)) < 1e-5));
});
