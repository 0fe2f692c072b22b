// hbm_bench.cu — memory bandwidth of the GPU, from L2-resident to HBM-sized
// working sets.
//
// Purpose: the simulator's roofline turns bytes into time with a bandwidth;
// decode is almost entirely bound by it. Two kernels sweep working sets from
// 1 MiB (inside L2) doubling up to 8 GiB or 80 % of free memory, whichever is
// smaller: `stream` copies src to dst (bytes = read + written, the working set
// is both buffers) and `read` sums a buffer (bytes = buffer, read only, the
// shape of weight and KV-cache reads). The small sizes are intentionally L2
// resident (the same buffer is reused each launch) to show where the curve
// bends; rows above ~2x the L2 size measure HBM.
//
// Usage: hbm_bench [-o trace.csv] [--quick] [--device N] [--max-mib M] [common flags]
#include "common.h"

namespace {

constexpr int kThreads = 512;
constexpr int kUnroll = 4;  // independent 16-byte loads in flight per thread

// Copy with 16-byte accesses, kUnroll loads issued before the stores so the
// memory system sees enough outstanding requests to reach full bandwidth.
__global__ void __launch_bounds__(kThreads) copy_kernel(const float4* __restrict__ src, float4* __restrict__ dst,
                                                        size_t n4) {
    size_t stride = (size_t)gridDim.x * blockDim.x;
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    for (; i + (kUnroll - 1) * stride < n4; i += kUnroll * stride) {
        float4 v[kUnroll];
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) v[u] = __ldcs(src + i + u * stride);  // streaming: no reuse
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) __stcs(dst + i + u * stride, v[u]);
    }
    for (; i < n4; i += stride) dst[i] = src[i];
}

// Read-only sweep: sums everything so the loads cannot be removed, one
// atomicAdd per block (negligible traffic) keeps the result observable.
__global__ void __launch_bounds__(kThreads) read_kernel(const float4* __restrict__ src, size_t n4,
                                                        float* __restrict__ out) {
    size_t stride = (size_t)gridDim.x * blockDim.x;
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    float acc = 0.f;
    for (; i + (kUnroll - 1) * stride < n4; i += kUnroll * stride) {
        float4 v[kUnroll];
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) v[u] = __ldcs(src + i + u * stride);
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) acc += (v[u].x + v[u].y) + (v[u].z + v[u].w);
    }
    for (; i < n4; i += stride) {
        float4 v = src[i];
        acc += (v.x + v.y) + (v.z + v.w);
    }
    for (int o = 16; o > 0; o >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, o);
    __shared__ float warp_sums[kThreads / 32];
    if ((threadIdx.x & 31) == 0) warp_sums[threadIdx.x >> 5] = acc;
    __syncthreads();
    if (threadIdx.x == 0) {
        float s = 0.f;
        for (int w = 0; w < kThreads / 32; ++w) s += warp_sums[w];
        atomicAdd(out, s);
    }
}

void usage() {
    std::fprintf(stderr, "usage: hbm_bench [-o trace.csv] [--quick] [--device N] [--max-mib M]\n");
    fcal::common_usage(stderr);
}

}  // namespace

int main(int argc, char** argv) {
    fcal::Options o;
    double max_mib = 8192;
    for (int i = 1; i < argc; ++i) {
        if (fcal::parse_common(&i, argc, argv, &o)) continue;
        if (!std::strcmp(argv[i], "--max-mib") && i + 1 < argc) max_mib = std::atof(argv[++i]);
        else { usage(); return 2; }
    }
    fcal::Nvml nv;
    fcal::Trace tr;
    fcal::DeviceInfo d = fcal::start_tool(o, "hbm_bench", &nv, &tr);
    const int repeats = fcal::repeats_of(o);
    if (o.quick) max_mib = std::min(max_mib, 2048.0);

    // Largest working set: 8 GiB (flag) or 80 % of free memory, a power of two.
    size_t free_b = 0, total_b = 0;
    CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    size_t cap = std::min((size_t)(max_mib * 1048576.0), (size_t)(0.8 * (double)free_b));
    size_t top = 1u << 20;
    while (top * 2 <= cap) top *= 2;

    // Persistent grid: enough resident blocks to fill every SM, grid-stride inside.
    int per_sm = 0;
    CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, copy_kernel, kThreads, 0));
    const unsigned grid = (unsigned)(std::max(1, per_sm) * d.sm_count);

    char* buf = nullptr;  // one allocation of `top` bytes serves both kernels
    float* out = nullptr;
    CUDA_CHECK(cudaMalloc(&buf, top));
    CUDA_CHECK(cudaMalloc(&out, sizeof(float)));
    fcal::fill_random(reinterpret_cast<float*>(buf), top / sizeof(float), 7);
    CUDA_CHECK(cudaMemset(out, 0, sizeof(float)));
    CUDA_CHECK(cudaDeviceSynchronize());
    cudaStream_t s;
    CUDA_CHECK(cudaStreamCreate(&s));

    for (size_t ws = 1u << 20; ws <= top; ws *= 2) {
        // stream: working set = src + dst halves; bytes = read + written = ws.
        {
            size_t n4 = ws / 2 / sizeof(float4);
            const float4* src = reinterpret_cast<const float4*>(buf);
            float4* dst = reinterpret_cast<float4*>(buf + ws / 2);
            auto launch = [&](long) {
                copy_kernel<<<grid, kThreads, 0, s>>>(src, dst, n4);
                CUDA_CHECK_LAUNCH();
            };
            double t = fcal::time_median(launch, s, repeats);
            fcal::Sample smp = fcal::loop_with_power(launch, s, nv, o, t);
            tr.row("stream", "", -1, -1, -1, (double)ws, t, ws / t, smp);
            std::fprintf(stderr, "stream %8.0f MiB  %9.3f us  %7.1f GB/s\n", ws / 1048576.0, t * 1e6, ws / t / 1e9);
        }
        // read: buffer of ws bytes, read once per launch.
        {
            size_t n4 = ws / sizeof(float4);
            const float4* src = reinterpret_cast<const float4*>(buf);
            auto launch = [&](long) {
                read_kernel<<<grid, kThreads, 0, s>>>(src, n4, out);
                CUDA_CHECK_LAUNCH();
            };
            double t = fcal::time_median(launch, s, repeats);
            fcal::Sample smp = fcal::loop_with_power(launch, s, nv, o, t);
            tr.row("read", "", -1, -1, -1, (double)ws, t, ws / t, smp);
            std::fprintf(stderr, "read   %8.0f MiB  %9.3f us  %7.1f GB/s\n", ws / 1048576.0, t * 1e6, ws / t / 1e9);
        }
    }
    CUDA_CHECK(cudaStreamSynchronize(s));
    float result = 0.f;  // read back so the sums were observable (and errors surface)
    CUDA_CHECK(cudaMemcpy(&result, out, sizeof result, cudaMemcpyDeviceToHost));
    if (!std::isfinite(result)) std::fprintf(stderr, "hbm_bench: note: running sum overflowed (harmless)\n");
    CUDA_CHECK(cudaStreamDestroy(s));
    CUDA_CHECK(cudaFree(buf));
    CUDA_CHECK(cudaFree(out));
    tr.close();
    return 0;
}
