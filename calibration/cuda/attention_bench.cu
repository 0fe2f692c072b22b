// attention_bench.cu — decode attention over a KV cache, as bandwidth.
//
// Purpose: in decode, attention reads each sequence's whole KV cache to
// produce one token, so its cost is KV bytes over an achieved bandwidth that
// is lower than a plain streaming read (softmax, reductions, the GQA fan-out).
// This tool measures that bandwidth for a Llama-70B-like layer: head_dim 128,
// 8 KV heads, 64 query heads (GQA groups of 8), fp16, one new query token per
// sequence, for batch B in {1, 8, 32, 128} and context L in {1k, 4k, 16k, 64k}
// (points that do not fit in memory are skipped). Row: kind=attention,
// precision=fp16, m=B, k=L, bytes = KV bytes read = B * 2 * L * 8 * 128 * 2,
// achieved = bytes / time.
//
// Kernel: one block per (sequence, KV head) loads K and V in 64-token tiles
// into shared memory and serves the 8 query heads of its group from them
// (each KV byte is read from memory once), with an online (streaming)
// softmax. When B * 8 blocks cannot fill the GPU (small batches), the context
// is split across blocks and a second small kernel merges the partial
// softmaxes (flash-decoding), as production decode kernels do; otherwise a
// batch of one block per sequence and head would measure the launch shape,
// not the memory system. KV cache layout: contiguous [B][kv_head][L][128].
//
// Usage: attention_bench [-o trace.csv] [--quick] [--device N] [--batch LIST] [--context LIST]
#include "common.h"

namespace {

constexpr int kHeadDim = 128;
constexpr int kKvHeads = 8;
constexpr int kQHeads = 64;
constexpr int kGroup = kQHeads / kKvHeads;  // query heads per KV head = warps per block
constexpr int kTile = 64;                   // tokens per shared-memory tile
constexpr int kThreads = 256;               // 8 warps: warp w owns query head w of the group
constexpr int kPad = 8;                     // halves of padding per row: conflict-free 16-byte reads
constexpr int kRow = kHeadDim + kPad;
constexpr int kChunks = kHeadDim / 8;                   // 16-byte chunks per row
constexpr int kLoads = kTile * kChunks / kThreads;      // 16-byte loads per thread per tile and tensor
static_assert(kGroup * 32 == kThreads, "one warp per query head of the group");
static_assert(kLoads * kThreads == kTile * kChunks, "tile load must divide evenly");

// grid: (splits, kv heads, batch). Each block covers tokens [split*chunk, (split+1)*chunk).
__global__ void __launch_bounds__(kThreads) decode_attention_kernel(
    const __half* __restrict__ q, const __half* __restrict__ k, const __half* __restrict__ v, int L, int chunk,
    float scale_log2, __half* __restrict__ out, float* __restrict__ part_o, float* __restrict__ part_ml) {
    __shared__ __align__(16) __half ks[kTile][kRow];
    __shared__ __align__(16) __half vs[kTile][kRow];
    __shared__ __align__(16) float qs[kGroup][kHeadDim];
    __shared__ float sc[kGroup][kTile];  // scores, then probabilities

    const int split = blockIdx.x, g = blockIdx.y, b = blockIdx.z, splits = gridDim.x;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const size_t head_base = ((size_t)b * kKvHeads + g) * (size_t)L * kHeadDim;
    const uint4* kg = reinterpret_cast<const uint4*>(k + head_base + (size_t)split * chunk * kHeadDim);
    const uint4* vg = reinterpret_cast<const uint4*>(v + head_base + (size_t)split * chunk * kHeadDim);

    // The group's 8 query vectors, as float, broadcast to all threads from shared memory.
    for (int i = tid; i < kGroup * kHeadDim; i += kThreads)
        qs[i / kHeadDim][i % kHeadDim] = __half2float(q[((size_t)b * kQHeads + g * kGroup) * kHeadDim + i]);

    // Next tile prefetched into registers while the current one is computed.
    uint4 kr[kLoads], vr[kLoads];
    auto load_tile = [&](int t) {
#pragma unroll
        for (int r = 0; r < kLoads; ++r) {
            int idx = tid + r * kThreads;  // consecutive threads, consecutive 16-byte chunks: coalesced
            kr[r] = __ldcs(kg + (size_t)t * kTile * kChunks + idx);
            vr[r] = __ldcs(vg + (size_t)t * kTile * kChunks + idx);
        }
    };
    const int tiles = chunk / kTile;
    load_tile(0);

    float m_run = -INFINITY, l_run = 0.f, acc[4] = {0.f, 0.f, 0.f, 0.f};
    const int tok = tid & (kTile - 1), hp = tid >> 6;  // score phase: token, head pair

    for (int t = 0; t < tiles; ++t) {
        __syncthreads();  // everyone is done with the previous tile
#pragma unroll
        for (int r = 0; r < kLoads; ++r) {
            int idx = tid + r * kThreads, row = idx / kChunks, c = idx % kChunks;
            *reinterpret_cast<uint4*>(&ks[row][c * 8]) = kr[r];
            *reinterpret_cast<uint4*>(&vs[row][c * 8]) = vr[r];
        }
        __syncthreads();
        if (t + 1 < tiles) load_tile(t + 1);

        // Scores: thread (token, head pair) dots one K row with two query heads.
        {
            float a0 = 0.f, a1 = 0.f;
            const float* q0 = qs[2 * hp];
            const float* q1 = qs[2 * hp + 1];
#pragma unroll 4
            for (int c = 0; c < kChunks; ++c) {
                uint4 raw = *reinterpret_cast<const uint4*>(&ks[tok][c * 8]);
                const __half2* h2 = reinterpret_cast<const __half2*>(&raw);
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    float2 f = __half22float2(h2[e]);
                    int d = c * 8 + e * 2;
                    a0 = fmaf(f.x, q0[d], fmaf(f.y, q0[d + 1], a0));
                    a1 = fmaf(f.x, q1[d], fmaf(f.y, q1[d + 1], a1));
                }
            }
            sc[2 * hp][tok] = a0 * scale_log2;  // log2 domain: exp2f below
            sc[2 * hp + 1][tok] = a1 * scale_log2;
        }
        __syncthreads();

        // Online softmax for head `warp`: new running max, rescale what was
        // accumulated, turn this tile's scores into probabilities.
        float s0 = sc[warp][lane], s1 = sc[warp][lane + 32];
        float mx = fmaxf(s0, s1);
        for (int o = 16; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
        float m_new = fmaxf(m_run, mx);
        float p0 = exp2f(s0 - m_new), p1 = exp2f(s1 - m_new);
        sc[warp][lane] = p0;
        sc[warp][lane + 32] = p1;
        float sum = p0 + p1;
        for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
        float corr = exp2f(m_run - m_new);  // 0 on the first tile (m_run = -inf)
        l_run = l_run * corr + sum;
        m_run = m_new;
        __syncwarp();  // the warp's own probabilities, read back below

        // P V: lane owns 4 output dims of head `warp`; V rows read contiguously.
#pragma unroll
        for (int i = 0; i < 4; ++i) acc[i] *= corr;
#pragma unroll 8
        for (int j = 0; j < kTile; ++j) {
            float p = sc[warp][j];
            uint2 raw = *reinterpret_cast<const uint2*>(&vs[j][lane * 4]);
            const __half2* h2 = reinterpret_cast<const __half2*>(&raw);
            float2 f0 = __half22float2(h2[0]), f1 = __half22float2(h2[1]);
            acc[0] = fmaf(p, f0.x, acc[0]);
            acc[1] = fmaf(p, f0.y, acc[1]);
            acc[2] = fmaf(p, f1.x, acc[2]);
            acc[3] = fmaf(p, f1.y, acc[3]);
        }
    }

    const int qh = g * kGroup + warp;
    if (splits == 1) {
        __half* o = out + ((size_t)b * kQHeads + qh) * kHeadDim + lane * 4;
        float inv = 1.f / l_run;
#pragma unroll
        for (int i = 0; i < 4; ++i) o[i] = __float2half_rn(acc[i] * inv);
    } else {
        size_t slot = (((size_t)b * kKvHeads + g) * splits + split) * kGroup + warp;
        float* po = part_o + slot * kHeadDim + lane * 4;
#pragma unroll
        for (int i = 0; i < 4; ++i) po[i] = acc[i];
        if (lane == 0) {
            part_ml[slot * 2] = m_run;
            part_ml[slot * 2 + 1] = l_run;
        }
    }
}

// Merges the per-split partial softmaxes: grid (64 query heads, batch), one thread per dim.
__global__ void combine_kernel(const float* __restrict__ part_o, const float* __restrict__ part_ml, int splits,
                               __half* __restrict__ out) {
    const int qh = blockIdx.x, b = blockIdx.y, d = threadIdx.x;
    const int g = qh / kGroup, w = qh % kGroup;
    auto slot = [&](int s) { return (((size_t)b * kKvHeads + g) * splits + s) * kGroup + w; };
    float m = -INFINITY;
    for (int s = 0; s < splits; ++s) m = fmaxf(m, part_ml[slot(s) * 2]);
    float num = 0.f, den = 0.f;
    for (int s = 0; s < splits; ++s) {
        float f = exp2f(part_ml[slot(s) * 2] - m);
        num += f * part_o[slot(s) * kHeadDim + d];
        den += f * part_ml[slot(s) * 2 + 1];
    }
    out[((size_t)b * kQHeads + qh) * kHeadDim + d] = __float2half_rn(num / den);
}

struct Config {
    int batch, context, splits;
};

// Splits only when batch x KV heads leaves SMs idle: double until at least
// two blocks per SM, keeping chunks of >= 256 tokens (whole tiles).
int choose_splits(int batch, int L, int sm_count) {
    int s = 1;
    while ((long)batch * kKvHeads * s < 2L * sm_count && L / (s * 2) >= 256 && L % (s * 2 * kTile) == 0) s *= 2;
    return s;
}

struct Buffers {
    __half *q = nullptr, *kv = nullptr, *out = nullptr;
    float *part_o = nullptr, *part_ml = nullptr;
    size_t kv_set_elems = 0;  // K then V, per set
    int sets = 1;
};

void launch_attention(const Buffers& bf, int set, const Config& c, cudaStream_t s) {
    const __half* k = bf.kv + (size_t)set * bf.kv_set_elems;
    const __half* v = k + bf.kv_set_elems / 2;
    const float scale_log2 = 1.4426950408889634f / sqrtf((float)kHeadDim);  // log2(e) / sqrt(d)
    dim3 grid(c.splits, kKvHeads, c.batch);
    decode_attention_kernel<<<grid, kThreads, 0, s>>>(bf.q, k, v, c.context, c.context / c.splits, scale_log2, bf.out,
                                                      bf.part_o, bf.part_ml);
    CUDA_CHECK_LAUNCH();
    if (c.splits > 1) {
        combine_kernel<<<dim3(kQHeads, c.batch), kHeadDim, 0, s>>>(bf.part_o, bf.part_ml, c.splits, bf.out);
        CUDA_CHECK_LAUNCH();
    }
}

Buffers alloc_buffers(const Config& c, int sets) {
    Buffers bf;
    bf.sets = sets;
    bf.kv_set_elems = 2ull * c.batch * kKvHeads * c.context * kHeadDim;
    CUDA_CHECK(cudaMalloc(&bf.q, (size_t)c.batch * kQHeads * kHeadDim * sizeof(__half)));
    CUDA_CHECK(cudaMalloc(&bf.out, (size_t)c.batch * kQHeads * kHeadDim * sizeof(__half)));
    CUDA_CHECK(cudaMalloc(&bf.kv, bf.kv_set_elems * sets * sizeof(__half)));
    size_t slots = (size_t)c.batch * kKvHeads * c.splits * kGroup;
    CUDA_CHECK(cudaMalloc(&bf.part_o, slots * kHeadDim * sizeof(float)));
    CUDA_CHECK(cudaMalloc(&bf.part_ml, slots * 2 * sizeof(float)));
    fcal::fill_random(bf.q, (size_t)c.batch * kQHeads * kHeadDim, 1);
    fcal::fill_random(bf.kv, bf.kv_set_elems * sets, 2);
    CUDA_CHECK(cudaDeviceSynchronize());
    return bf;
}

void free_buffers(Buffers* bf) {
    CUDA_CHECK(cudaFree(bf->q));
    CUDA_CHECK(cudaFree(bf->out));
    CUDA_CHECK(cudaFree(bf->kv));
    CUDA_CHECK(cudaFree(bf->part_o));
    CUDA_CHECK(cudaFree(bf->part_ml));
    *bf = Buffers{};
}

// Host reference on a small case, with and without splitting, so a wrong
// kernel stops the run instead of producing a believable bandwidth.
void self_check(cudaStream_t s) {
    for (int splits : {1, 4}) {
        Config c{2, 1024, splits};
        Buffers bf = alloc_buffers(c, 1);
        launch_attention(bf, 0, c, s);
        CUDA_CHECK(cudaStreamSynchronize(s));
        std::vector<__half> q((size_t)c.batch * kQHeads * kHeadDim), out(q.size()), kv(bf.kv_set_elems);
        CUDA_CHECK(cudaMemcpy(q.data(), bf.q, q.size() * 2, cudaMemcpyDeviceToHost));
        CUDA_CHECK(cudaMemcpy(out.data(), bf.out, out.size() * 2, cudaMemcpyDeviceToHost));
        CUDA_CHECK(cudaMemcpy(kv.data(), bf.kv, kv.size() * 2, cudaMemcpyDeviceToHost));
        const size_t vofs = bf.kv_set_elems / 2;
        double worst = 0;
        std::vector<double> sc(c.context);
        for (int b = 0; b < c.batch; ++b)
            for (int h = 0; h < kQHeads; ++h) {
                int g = h / kGroup;
                size_t base = ((size_t)b * kKvHeads + g) * c.context * kHeadDim;
                const __half* qv = &q[((size_t)b * kQHeads + h) * kHeadDim];
                double mx = -1e300;
                for (int t = 0; t < c.context; ++t) {
                    double a = 0;
                    for (int d = 0; d < kHeadDim; ++d)
                        a += (double)__half2float(qv[d]) * __half2float(kv[base + (size_t)t * kHeadDim + d]);
                    sc[t] = a / std::sqrt((double)kHeadDim);
                    mx = std::max(mx, sc[t]);
                }
                double den = 0;
                for (int t = 0; t < c.context; ++t) den += (sc[t] = std::exp(sc[t] - mx));
                for (int d = 0; d < kHeadDim; ++d) {
                    double o = 0;
                    for (int t = 0; t < c.context; ++t)
                        o += sc[t] * __half2float(kv[vofs + base + (size_t)t * kHeadDim + d]);
                    o /= den;
                    double got = __half2float(out[((size_t)b * kQHeads + h) * kHeadDim + d]);
                    worst = std::max(worst, std::fabs(got - o));
                }
            }
        free_buffers(&bf);
        // Outputs are averages of values in [-1, 1]: fp16 output rounding is
        // ~5e-4, float accumulation far less; 1e-2 flags real errors only.
        if (!(worst < 1e-2)) {
            std::fprintf(stderr, "attention_bench: self-check FAILED (splits %d, max abs error %.3g)\n", splits, worst);
            std::exit(1);
        }
        std::fprintf(stderr, "attention_bench: self-check ok (splits %d, max abs error %.2g)\n", splits, worst);
    }
}

std::vector<int> parse_ints(const char* s) {
    std::vector<int> v;
    for (const char* p = s; *p;) {
        char* end;
        long x = std::strtol(p, &end, 10);
        if (end == p) break;
        if (*end == 'k' || *end == 'K') { x *= 1024; ++end; }  // "64k" = 65536
        v.push_back((int)x);
        p = *end ? end + 1 : end;
    }
    return v;
}

void usage() {
    std::fprintf(stderr,
                 "usage: attention_bench [-o trace.csv] [--quick] [--device N] [--batch 1,8,..] [--context 1k,4k,..]\n"
                 "  contexts must be multiples of %d tokens\n",
                 kTile);
    fcal::common_usage(stderr);
}

}  // namespace

int main(int argc, char** argv) {
    fcal::Options o;
    std::vector<int> batches, contexts;
    for (int i = 1; i < argc; ++i) {
        if (fcal::parse_common(&i, argc, argv, &o)) continue;
        if (!std::strcmp(argv[i], "--batch") && i + 1 < argc) batches = parse_ints(argv[++i]);
        else if (!std::strcmp(argv[i], "--context") && i + 1 < argc) contexts = parse_ints(argv[++i]);
        else { usage(); return 2; }
    }
    if (batches.empty()) batches = o.quick ? std::vector<int>{1, 32} : std::vector<int>{1, 8, 32, 128};
    if (contexts.empty())
        contexts = o.quick ? std::vector<int>{1024, 16384} : std::vector<int>{1024, 4096, 16384, 65536};
    for (int L : contexts)
        if (L <= 0 || L % kTile) { usage(); return 2; }

    fcal::Nvml nv;
    fcal::Trace tr;
    fcal::DeviceInfo d = fcal::start_tool(o, "attention_bench", &nv, &tr);
    const int repeats = fcal::repeats_of(o);
    cudaStream_t s;
    CUDA_CHECK(cudaStreamCreate(&s));
    self_check(s);

    for (int B : batches)
        for (int L : contexts) {
            Config c{B, L, choose_splits(B, L, d.sm_count)};
            const double kv_bytes = 2.0 * B * (double)L * kKvHeads * kHeadDim * sizeof(__half);
            // Each layer of a model has its own KV cache, so L2 reuse across
            // launches is unrealistic: rotate copies to >= 3x the L2 size.
            int sets = (int)std::min(64.0, std::max(1.0, std::ceil(3.0 * d.l2_bytes / kv_bytes)));
            size_t free_b = 0, total_b = 0;
            CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
            while (sets > 1 && sets * kv_bytes > 0.8 * free_b) --sets;
            if (kv_bytes > 0.8 * free_b) {
                std::fprintf(stderr, "attention B=%d L=%d: %.1f GiB of KV does not fit, skipped\n", B, L,
                             kv_bytes / 1073741824.0);
                continue;
            }
            Buffers bf = alloc_buffers(c, sets);
            auto launch = [&](long it) { launch_attention(bf, (int)(it % sets), c, s); };
            double t = fcal::time_median(launch, s, repeats);
            fcal::Sample smp = fcal::loop_with_power(launch, s, nv, o, t);
            tr.row("attention", "fp16", B, -1, L, kv_bytes, t, kv_bytes / t, smp);
            std::fprintf(stderr, "attention B=%4d L=%6d splits=%3d  %10.2f us  %7.1f GB/s  %6.1f W\n", B, L, c.splits,
                         t * 1e6, kv_bytes / t / 1e9, smp.power_w);
            free_buffers(&bf);
        }
    CUDA_CHECK(cudaStreamDestroy(s));
    tr.close();
    return 0;
}
