// `npm run bench -- peers`: the engines a user would pick instead of probity, run beside it in the same process
// tree and the same minutes, where installed: PyTorch (Debian python3-torch + OpenBLAS) for SAE training and the
// GPT-2-small forward (bench/peers/torch.ts), llama.cpp (node-llama-cpp) for prompt processing and decode on the same
// GGUF files (bench/peers/llama-cpp.ts). Ratios are probity / peer from this run only. A peer that is not installed
// is recorded as absent with the reason; never as a number. Writes bench/results/peers.json. PROBITY_PEER_ROUNDS
// sets the timed rounds per comparison (default 5; each comparison also runs one warm-up round).
import { cpuFacts, loadAverage, PEER_THREADS } from './peers/common.js';
import { benchTorchPeer } from './peers/torch.js';
import { benchLlamaCppPeer } from './peers/llama-cpp.js';
import { GGUF_KINDS } from './peers/gguf-files.js';

type Json = Record<string, any>;

/** The ratios probity / peer of this run in one place (each also sits beside its rounds below); null where absent. */
function headline(torch: Json, llamaCpp: Json) {
  const t = torch.status === 'measured' ? torch : null;
  const file = (k: string) => (llamaCpp.files?.[k]?.status === 'measured' ? llamaCpp.files[k].ratio_probity_over_llama_cpp : null);
  return {
    topk_sae_step_auto_over_torch_dense: t?.topk_sae_step.ratio_probity_over_torch.probity_auto_over_torch_dense ?? null,
    topk_sae_step_auto_over_torch_sparse: t?.topk_sae_step.ratio_probity_over_torch.probity_auto_over_torch_sparse ?? null,
    topk_sae_step_exact_over_torch_dense: t?.topk_sae_step.ratio_probity_over_torch.probity_exact_over_torch_dense ?? null,
    topk_sae_step_exact_over_torch_sparse: t?.topk_sae_step.ratio_probity_over_torch.probity_exact_over_torch_sparse ?? null,
    gpt2_small_forward_over_torch: t?.gpt2_small_forward.ratio_probity_over_torch.probity_over_torch_gpt2 ?? null,
    gemm_over_torch: t?.gemm.ratio_probity_over_torch.probity_over_torch_gemm ?? null,
    ...Object.fromEntries(GGUF_KINDS.flatMap((k) => [
      [`llama_${k}_prompt_over_llama_cpp`, file(k)?.prompt ?? null],
      [`llama_${k}_decode_over_llama_cpp`, file(k)?.decode ?? null],
    ])),
  };
}

export async function benchPeers(): Promise<Record<string, unknown>> {
  const rounds = Number(process.env.PROBITY_PEER_ROUNDS) || 5;
  // Every engine gets the same number of threads; a PROBITY_THREADS the user set is kept, and recorded.
  process.env.PROBITY_THREADS ??= String(PEER_THREADS);
  const loadStart = loadAverage();
  const t0 = performance.now();
  const torch = await benchTorchPeer(rounds);
  const tTorch = performance.now();
  const llamaCpp = await benchLlamaCppPeer(rounds);
  return {
    peers_ratios_probity_over_peer: headline(torch, llamaCpp),
    peers_cpu: cpuFacts(),
    peers_threads: { peers: PEER_THREADS, probity: Number(process.env.PROBITY_THREADS) },
    peers_load_average: { start: loadStart, end: loadAverage() },
    peers_wall_s: { torch: (tTorch - t0) / 1e3, llama_cpp: (performance.now() - tTorch) / 1e3 },
    torch,
    llama_cpp: llamaCpp,
  };
}
