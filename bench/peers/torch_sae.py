"""PyTorch peer of `npm run bench -- peers` (driven by bench/peers/torch.ts over stdin / stdout, one JSON per line).

The same shapes as probity's own benches, on random weights:
  dense   TopK SAE training step 768 -> 12288, k 32, batch 4096, as a plain PyTorch user writes it: encoder GEMM,
          topk, the codes scattered into a dense [B, S] matrix, dense decoder GEMM, MSE, autograd backward, Adam.
  sparse  the same step the way sparsify (EleutherAI) trains: the decoder is an embedding_bag over the k chosen rows
          with the activations as per-sample weights, and the encoder has a hand-written backward that sums
          gradients into the k chosen rows only (index_add) instead of a dense [B, S] gradient GEMM.
  gpt2    a GPT-2-small-shaped forward (12 layers, d 768, vocab 50257), batch 8 x 128, logits at every position.
  gemm    fp32 4096 x 768 @ 768 x 3072 (the BLAS's own speed, to tell a slow BLAS from a slow step).
b_dec is subtracted from the input before encoding, as in probity's TopK SAE (topk-core.ts).

Protocol: the first line out is {"info": ...} (torch version, the BLAS actually mapped into this process, threads);
then each line in, {"op": "dense" | "sparse" | "gpt2" | "gemm"}, is answered by {"ms": wall time of one run}. An op's
state is built before its first run, outside the time; the caller discards warm-up runs. End of input ends the script.
"""
import ctypes
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

THREADS = int(os.environ.get("PEER_THREADS", "2"))
D_IN, D_SAE, K, BATCH = 768, 12288, 32, 4096


def blas_info():
    """Which BLAS libraries are mapped into this process (Debian's torch links the generic libblas.so.3, which the
    alternatives system points at OpenBLAS or at the reference BLAS), and OpenBLAS's own report where it is one."""
    paths = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            name = os.path.basename(path).lower()
            if ("blas" in name or "mkl" in name or "blis" in name) and path not in paths:
                paths.append(path)
    info = {"libraries": paths, "kind": "unknown", "config": None, "core": None, "threads": None}
    openblas = [p for p in paths if "openblas" in os.path.basename(p).lower()]
    if openblas:
        lib = ctypes.CDLL(openblas[0])
        lib.openblas_get_config.restype = ctypes.c_char_p
        lib.openblas_get_corename.restype = ctypes.c_char_p
        info.update(kind="openblas", config=lib.openblas_get_config().decode(), core=lib.openblas_get_corename().decode(),
                    threads=lib.openblas_get_num_threads())
    elif any("mkl" in os.path.basename(p).lower() for p in paths):
        info["kind"] = "mkl"
    elif any("blis" in os.path.basename(p).lower() for p in paths):
        info["kind"] = "blis"
    elif any(os.path.basename(p).startswith("libblas.so") for p in paths):
        # Debian's libblas3 (netlib reference BLAS: /usr/lib/<triplet>/blas/libblas.so.3): one thread, no SIMD kernels.
        info["kind"] = "reference"
    return info


class SparseEncoder(torch.autograd.Function):
    """relu(x W^T + b) -> the k largest per row; backward touches only the k chosen rows of W and b (as sparsify)."""

    @staticmethod
    def forward(ctx, x, W, b, k):
        pre = F.relu(F.linear(x, W, b))  # [B, S]
        vals, idx = pre.topk(k, dim=1, sorted=False)  # [B, K]
        ctx.save_for_backward(x, W, idx, vals)
        return vals, idx

    @staticmethod
    def backward(ctx, dvals, _didx):
        x, W, idx, vals = ctx.saved_tensors
        dvals = dvals * (vals > 0)  # the ReLU's gradient at the chosen latents
        dx = F.embedding_bag(idx, W, mode="sum", per_sample_weights=dvals)  # [B, D]
        dW = torch.zeros_like(W).index_add_(0, idx.flatten(), (dvals.unsqueeze(2) * x.unsqueeze(1)).reshape(-1, x.shape[1]))
        db = torch.zeros(W.shape[0], dtype=W.dtype).index_add_(0, idx.flatten(), dvals.flatten())
        return dx, dW, db, None


def sae_state():
    g = torch.Generator().manual_seed(3)
    W_enc = (torch.randn(D_SAE, D_IN, generator=g) / math.sqrt(D_IN)).requires_grad_()
    W_dec = (torch.randn(D_SAE, D_IN, generator=g) / math.sqrt(D_IN)).requires_grad_()
    b_enc = torch.zeros(D_SAE, requires_grad=True)
    b_dec = torch.zeros(D_IN, requires_grad=True)
    params = (W_enc, b_enc, W_dec, b_dec)
    x = torch.randn(BATCH, D_IN, generator=g)
    return params, torch.optim.Adam(params, lr=1e-4), x


def dense_step(state):
    (W_enc, b_enc, W_dec, b_dec), opt, x = state
    opt.zero_grad(set_to_none=True)
    pre = F.relu(F.linear(x - b_dec, W_enc, b_enc))  # [B, S]
    vals, idx = pre.topk(K, dim=1, sorted=False)
    codes = torch.zeros_like(pre).scatter(1, idx, vals)  # [B, S], k nonzeros per row
    xhat = codes @ W_dec + b_dec
    loss = (xhat - x).pow(2).sum(-1).mean()
    loss.backward()
    opt.step()


def sparse_step(state):
    (W_enc, b_enc, W_dec, b_dec), opt, x = state
    opt.zero_grad(set_to_none=True)
    vals, idx = SparseEncoder.apply(x - b_dec, W_enc, b_enc, K)
    xhat = F.embedding_bag(idx, W_dec, mode="sum", per_sample_weights=vals) + b_dec
    loss = (xhat - x).pow(2).sum(-1).mean()
    loss.backward()
    opt.step()


class Gpt2(torch.nn.Module):
    """GPT-2 small's forward (pre-LN blocks, causal attention, tanh GELU, tied unembedding), random weights."""

    def __init__(self, d=768, layers=12, heads=12, vocab=50257, n_ctx=1024):
        super().__init__()
        self.heads = heads
        self.wte = torch.nn.Embedding(vocab, d)
        self.wpe = torch.nn.Embedding(n_ctx, d)
        self.blocks = torch.nn.ModuleList()
        for _ in range(layers):
            self.blocks.append(torch.nn.ModuleDict({
                "ln1": torch.nn.LayerNorm(d), "qkv": torch.nn.Linear(d, 3 * d), "proj": torch.nn.Linear(d, d),
                "ln2": torch.nn.LayerNorm(d), "fc": torch.nn.Linear(d, 4 * d), "out": torch.nn.Linear(4 * d, d),
            }))
        self.ln_f = torch.nn.LayerNorm(d)
        for p in self.parameters():
            if p.dim() > 1:
                torch.nn.init.normal_(p, std=0.02)

    def forward(self, tokens):  # [B, T] -> logits [B, T, V]
        B, T = tokens.shape
        h = self.wte(tokens) + self.wpe(torch.arange(T))
        mask = torch.full((T, T), float("-inf")).triu(1)
        for blk in self.blocks:
            q, k, v = blk["qkv"](blk["ln1"](h)).view(B, T, 3, self.heads, -1).permute(2, 0, 3, 1, 4)  # [B, H, T, Dh] each
            att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]) + mask, dim=-1)
            h = h + blk["proj"]((att @ v).transpose(1, 2).reshape(B, T, -1))
            h = h + blk["out"](F.gelu(blk["fc"](blk["ln2"](h)), approximate="tanh"))
        return self.ln_f(h) @ self.wte.weight.T


def gpt2_state():
    torch.manual_seed(1)
    model = Gpt2().eval()
    tokens = torch.tensor([[(b * 7919 + t * 104729) % 50000 for t in range(128)] for b in range(8)])
    return model, tokens


def gpt2_forward(state):
    model, tokens = state
    with torch.inference_mode():
        model(tokens)


def gemm_state():
    g = torch.Generator().manual_seed(1)
    return torch.randn(4096, 768, generator=g), torch.randn(768, 3072, generator=g)


def gemm(state):
    a, b = state
    a @ b


OPS = {"dense": (sae_state, dense_step), "sparse": (sae_state, sparse_step), "gpt2": (gpt2_state, gpt2_forward), "gemm": (gemm_state, gemm)}


def main():
    torch.set_num_threads(THREADS)
    torch.randn(64, 64) @ torch.randn(64, 64)  # BLAS is loaded and its threads started before we look
    info = {"torch": torch.__version__, "python": sys.version.split()[0], "torch_threads": torch.get_num_threads(),
            "interop_threads": torch.get_num_interop_threads(), "blas": blas_info(),
            "build": torch.__config__.show().strip().splitlines()}
    print(json.dumps({"info": info}), flush=True)
    states = {}
    for line in sys.stdin:
        name = json.loads(line)["op"]
        make, run = OPS[name]
        if name not in states:
            states[name] = make()
        t0 = time.perf_counter()
        run(states[name])
        print(json.dumps({"ms": (time.perf_counter() - t0) * 1e3}), flush=True)


if __name__ == "__main__":
    main()
