// gemm_bench.cu — dense matrix-multiply throughput through cuBLASLt.
//
// Purpose: the simulator's roofline needs the FLOP/s a GPU really reaches on
// the GEMMs of LLM inference, which is far from the datasheet peak for the
// skinny decode shapes (M = tokens in the batch = 1..256, weight-bandwidth
// bound) and close to it for prefill (M = 512..16384). This tool times
// C[m x n] = A[m x k] B[k x n] for a grid of such shapes, with N and K taken
// from real layer widths (4096, 8192, 14336), in BF16 always and in FP8 E4M3
// (per-tensor scales, cuBLASLt) when the compute capability is >= 8.9.
// One row per shape and precision: kind=gemm, achieved = 2 m n k / time.
//
// Layout, as inference frameworks call it: activations X row-major [m x k],
// weights W row-major [n x k] (a Linear layer's [out x in]), output row-major
// [m x n]. In cuBLAS's column-major terms that is D(n x m) = op_T(W) * op_N(X),
// the "TN" form, which is also the one form FP8 GEMMs support on Hopper.
//
// Weight reuse through L2 would flatter decode shapes (a real model streams a
// different layer's weights each time), so when one set of operands is smaller
// than 3x the L2 size the timed launches rotate through several copies.
//
// Usage: gemm_bench [-o trace.csv] [--quick] [--device N] [--precision bf16|fp8|all]
//        [--m LIST] [--nk NxK[,NxK..]] [--m-min M] [--m-max M] [--algos A] [--fp8-slow-accum]
#include <cublasLt.h>

#include "common.h"

namespace {

struct Shape {
    long m, n, k;
};

struct Precision {
    const char* name;        // trace precision column
    cudaDataType_t ab_type;  // A and B (C and D are BF16 in both cases)
    size_t ab_bytes;
    bool fp8;
};

constexpr size_t kWorkspace = 32u << 20;  // cuBLASLt's recommendation for Hopper/Blackwell

size_t round_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

std::vector<long> parse_list(const char* s) {
    std::vector<long> v;
    for (const char* p = s; *p;) {
        char* end;
        long x = std::strtol(p, &end, 10);
        if (end == p) break;
        v.push_back(x);
        p = *end ? end + 1 : end;
    }
    return v;
}

// Device buffers for one shape: `sets` copies of (W, X, D), each matrix
// aligned to 256 bytes (FP8 needs 16-byte aligned operands).
struct Operands {
    char* base = nullptr;
    size_t w_bytes = 0, x_bytes = 0, d_bytes = 0, set_bytes = 0;
    int sets = 0;
    void* w(int i) const { return base + (size_t)i * set_bytes; }
    void* x(int i) const { return base + (size_t)i * set_bytes + w_bytes; }
    void* d(int i) const { return base + (size_t)i * set_bytes + w_bytes + x_bytes; }
};

class GemmRunner {
  public:
    GemmRunner(cublasLtHandle_t lt, void* workspace, const float* one_dev, bool fast_accum)
        : lt_(lt), ws_(workspace), one_(one_dev), fast_accum_(fast_accum) {}

    // Builds descriptors for shape `s`; false when cuBLASLt offers no algorithm
    // (for example an FP8 shape it does not support), which skips the shape.
    bool plan(const Precision& p, const Shape& s, int max_algos) {
        release();
        CUBLAS_CHECK(cublasLtMatmulDescCreate(&op_, CUBLAS_COMPUTE_32F, CUDA_R_32F));
        cublasOperation_t t = CUBLAS_OP_T, n = CUBLAS_OP_N;
        CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op_, CUBLASLT_MATMUL_DESC_TRANSA, &t, sizeof t));
        CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op_, CUBLASLT_MATMUL_DESC_TRANSB, &n, sizeof n));
        if (p.fp8) {
            // Per-tensor dequantisation scales of A and B, as an FP8 model
            // carries them; D is BF16, so no D scale or amax is needed.
            CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op_, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &one_, sizeof one_));
            CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op_, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &one_, sizeof one_));
            int8_t fast = fast_accum_ ? 1 : 0;
            CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op_, CUBLASLT_MATMUL_DESC_FAST_ACCUM, &fast, sizeof fast));
        }
        CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&a_, p.ab_type, s.k, s.n, s.k));  // W: k x n, ld k, op T
        CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&b_, p.ab_type, s.k, s.m, s.k));  // X: k x m, ld k
        CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&c_, CUDA_R_16BF, s.n, s.m, s.n));  // D: n x m, ld n
        CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref_));
        uint64_t wsb = kWorkspace;
        CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref_, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &wsb,
                                                          sizeof wsb));
        algos_.assign(std::max(1, max_algos), cublasLtMatmulHeuristicResult_t{});
        int got = 0;
        cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(lt_, op_, a_, b_, c_, c_, pref_, (int)algos_.size(),
                                                           algos_.data(), &got);
        if (st != CUBLAS_STATUS_SUCCESS || got == 0) {
            std::fprintf(stderr, "  %s m=%ld n=%ld k=%ld: no cuBLASLt algorithm (%s), skipped\n", p.name, s.m, s.n,
                         s.k, cublasGetStatusString(st));
            return false;
        }
        algos_.resize(got);
        chosen_ = 0;
        return true;
    }
    int algo_count() const { return (int)algos_.size(); }
    void choose(int i) { chosen_ = i; }

    void run(const Operands& o, int set, cudaStream_t s) const {
        const float alpha = 1.0f, beta = 0.0f;  // host scalars (default pointer mode)
        CUBLAS_CHECK(cublasLtMatmul(lt_, op_, &alpha, o.w(set), a_, o.x(set), b_, &beta, o.d(set), c_, o.d(set), c_,
                                    &algos_[chosen_].algo, ws_, kWorkspace, s));
    }

    void release() {
        if (pref_) CUBLAS_CHECK(cublasLtMatmulPreferenceDestroy(pref_));
        if (a_) CUBLAS_CHECK(cublasLtMatrixLayoutDestroy(a_));
        if (b_) CUBLAS_CHECK(cublasLtMatrixLayoutDestroy(b_));
        if (c_) CUBLAS_CHECK(cublasLtMatrixLayoutDestroy(c_));
        if (op_) CUBLAS_CHECK(cublasLtMatmulDescDestroy(op_));
        pref_ = nullptr;
        a_ = b_ = c_ = nullptr;
        op_ = nullptr;
    }
    ~GemmRunner() { release(); }

  private:
    cublasLtHandle_t lt_;
    void* ws_;
    const float* one_;
    bool fast_accum_;
    cublasLtMatmulDesc_t op_ = nullptr;
    cublasLtMatrixLayout_t a_ = nullptr, b_ = nullptr, c_ = nullptr;
    cublasLtMatmulPreference_t pref_ = nullptr;
    std::vector<cublasLtMatmulHeuristicResult_t> algos_;
    int chosen_ = 0;
};

void fill_operand(const Precision& p, void* ptr, size_t elems, uint64_t seed) {
    if (p.fp8) fcal::fill_random(static_cast<__nv_fp8_e4m3*>(ptr), elems, seed);
    else fcal::fill_random(static_cast<__nv_bfloat16*>(ptr), elems, seed);
}

float host_value(const Precision& p, const std::vector<unsigned char>& raw, size_t i) {
    if (p.fp8) return float(reinterpret_cast<const __nv_fp8_e4m3*>(raw.data())[i]);
    return __bfloat162float(reinterpret_cast<const __nv_bfloat16*>(raw.data())[i]);
}

// Small GEMM against a host reference, so a wrong layout or transpose (which
// would still produce plausible timings) stops the run instead.
void self_check(GemmRunner& g, const Precision& p, cudaStream_t s) {
    const Shape sh{48, 256, 512};
    Operands o;
    o.w_bytes = round_up(sh.n * sh.k * p.ab_bytes, 256);
    o.x_bytes = round_up(sh.m * sh.k * p.ab_bytes, 256);
    o.d_bytes = round_up(sh.m * sh.n * 2, 256);
    o.set_bytes = o.w_bytes + o.x_bytes + o.d_bytes;
    o.sets = 1;
    CUDA_CHECK(cudaMalloc(&o.base, o.set_bytes));
    fill_operand(p, o.w(0), sh.n * sh.k, 11);
    fill_operand(p, o.x(0), sh.m * sh.k, 12);
    if (!g.plan(p, sh, 1)) {
        std::fprintf(stderr, "gemm_bench: self-check shape unsupported for %s\n", p.name);
        std::exit(1);
    }
    g.run(o, 0, s);
    CUDA_CHECK(cudaStreamSynchronize(s));
    std::vector<unsigned char> w(sh.n * sh.k * p.ab_bytes), x(sh.m * sh.k * p.ab_bytes);
    std::vector<__nv_bfloat16> d(sh.m * sh.n);
    CUDA_CHECK(cudaMemcpy(w.data(), o.w(0), w.size(), cudaMemcpyDeviceToHost));
    CUDA_CHECK(cudaMemcpy(x.data(), o.x(0), x.size(), cudaMemcpyDeviceToHost));
    CUDA_CHECK(cudaMemcpy(d.data(), o.d(0), d.size() * 2, cudaMemcpyDeviceToHost));
    double worst = 0;
    for (long i = 0; i < sh.m; ++i)
        for (long j = 0; j < sh.n; ++j) {
            double ref = 0, mag = 0;
            for (long kk = 0; kk < sh.k; ++kk) {
                double a = host_value(p, x, i * sh.k + kk), b = host_value(p, w, j * sh.k + kk);
                ref += a * b;
                mag += std::fabs(a * b);
            }
            double err = std::fabs(__bfloat162float(d[i * sh.n + j]) - ref) / mag;
            worst = std::max(worst, err);
        }
    CUDA_CHECK(cudaFree(o.base));
    // BF16 output rounding is 2^-9 relative; the error is measured against
    // sum |a b|, so 1e-2 separates rounding from a wrong layout by far.
    if (!(worst < 1e-2)) {
        std::fprintf(stderr, "gemm_bench: %s self-check FAILED (relative error %.3g)\n", p.name, worst);
        std::exit(1);
    }
    std::fprintf(stderr, "gemm_bench: %s self-check ok (relative error %.2g)\n", p.name, worst);
}

void usage() {
    std::fprintf(stderr,
                 "usage: gemm_bench [-o trace.csv] [--quick] [--device N] [--precision bf16|fp8|all]\n"
                 "                  [--m 1,16,..] [--nk 4096x4096,..] [--m-min M] [--m-max M]\n"
                 "                  [--algos A] [--fp8-slow-accum]\n"
                 "  --algos A         time the top A heuristic algorithms, keep the fastest (default 1:\n"
                 "                    the heuristic's choice, as frameworks use it)\n"
                 "  --fp8-slow-accum  FP8 without cuBLASLt fast accumulation (default: fast, as in inference)\n");
    fcal::common_usage(stderr);
}

}  // namespace

int main(int argc, char** argv) {
    fcal::Options o;
    std::string precision = "all";
    std::vector<long> ms, nk_list;
    long m_min = 0, m_max = 1L << 40;
    int max_algos = 1;
    bool fast_accum = true;
    for (int i = 1; i < argc; ++i) {
        if (fcal::parse_common(&i, argc, argv, &o)) continue;
        const char* a = argv[i];
        bool has = i + 1 < argc;
        if (!std::strcmp(a, "--precision") && has) precision = argv[++i];
        else if (!std::strcmp(a, "--m") && has) ms = parse_list(argv[++i]);
        else if (!std::strcmp(a, "--nk") && has) nk_list = parse_list(argv[++i]);  // "NxK,NxK": x and , both split
        else if (!std::strcmp(a, "--m-min") && has) m_min = std::atol(argv[++i]);
        else if (!std::strcmp(a, "--m-max") && has) m_max = std::atol(argv[++i]);
        else if (!std::strcmp(a, "--algos") && has) max_algos = std::max(1, std::atoi(argv[++i]));
        else if (!std::strcmp(a, "--fp8-slow-accum")) fast_accum = false;
        else { usage(); return 2; }
    }
    if (nk_list.size() % 2) { usage(); return 2; }
    if (precision != "all" && precision != "bf16" && precision != "fp8") { usage(); return 2; }

    // Default grid (40 shapes): decode M 1..256 and prefill M 512..16384,
    // against Llama-like layers: 4096x4096 (attention projections),
    // 14336x4096 (MLP up/gate), 4096x14336 (MLP down), 8192x8192 (70B-class).
    if (ms.empty())
        ms = o.quick ? std::vector<long>{1, 64, 256, 2048, 8192}
                     : std::vector<long>{1, 16, 64, 128, 256, 512, 2048, 4096, 8192, 16384};
    if (nk_list.empty())
        nk_list = o.quick ? std::vector<long>{4096, 4096, 14336, 4096}
                          : std::vector<long>{4096, 4096, 14336, 4096, 4096, 14336, 8192, 8192};
    std::vector<Shape> shapes;
    for (size_t j = 0; j + 1 < nk_list.size(); j += 2)
        for (long m : ms)
            if (m >= m_min && m <= m_max && m > 0) shapes.push_back({m, nk_list[j], nk_list[j + 1]});

    fcal::Nvml nv;
    fcal::Trace tr;
    fcal::DeviceInfo d = fcal::start_tool(o, "gemm_bench", &nv, &tr);
    const int repeats = fcal::repeats_of(o);

    std::vector<Precision> precs;
    if (precision != "fp8") precs.push_back({"bf16", CUDA_R_16BF, 2, false});
    if (precision != "bf16") {
        if (d.cc() >= 89) precs.push_back({"fp8", CUDA_R_8F_E4M3, 1, true});
        else std::fprintf(stderr, "gemm_bench: compute capability %d.%d < 8.9: no FP8 rows\n", d.prop.major, d.prop.minor);
    }

    cublasLtHandle_t lt;
    CUBLAS_CHECK(cublasLtCreate(&lt));
    void* workspace = nullptr;
    float* one = nullptr;
    CUDA_CHECK(cudaMalloc(&workspace, kWorkspace));
    CUDA_CHECK(cudaMalloc(&one, sizeof(float)));
    const float h_one = 1.0f;
    CUDA_CHECK(cudaMemcpy(one, &h_one, sizeof h_one, cudaMemcpyHostToDevice));
    cudaStream_t s;
    CUDA_CHECK(cudaStreamCreate(&s));
    GemmRunner g(lt, workspace, one, fast_accum);

    for (const Precision& p : precs) {
        self_check(g, p, s);
        for (const Shape& sh : shapes) {
            Operands op;
            op.w_bytes = round_up((size_t)sh.n * sh.k * p.ab_bytes, 256);
            op.x_bytes = round_up((size_t)sh.m * sh.k * p.ab_bytes, 256);
            op.d_bytes = round_up((size_t)sh.m * sh.n * 2, 256);
            op.set_bytes = op.w_bytes + op.x_bytes + op.d_bytes;
            // Rotate copies so the timed launches stream operands from HBM.
            op.sets = (int)std::min<size_t>(64, std::max<size_t>(1, (3 * d.l2_bytes + op.set_bytes - 1) / op.set_bytes));
            size_t free_b = 0, total_b = 0;
            CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
            while (op.sets > 1 && op.sets * op.set_bytes > 0.8 * free_b) --op.sets;
            if (op.set_bytes > 0.8 * free_b) {
                std::fprintf(stderr, "  %s m=%ld n=%ld k=%ld: does not fit, skipped\n", p.name, sh.m, sh.n, sh.k);
                continue;
            }
            if (!g.plan(p, sh, max_algos)) continue;
            CUDA_CHECK(cudaMalloc(&op.base, op.sets * op.set_bytes));
            for (int i = 0; i < op.sets; ++i) {
                fill_operand(p, op.w(i), (size_t)sh.n * sh.k, 100 + 2 * i);
                fill_operand(p, op.x(i), (size_t)sh.m * sh.k, 101 + 2 * i);
            }
            CUDA_CHECK(cudaDeviceSynchronize());
            auto launch = [&](long it) { g.run(op, (int)(it % op.sets), s); };

            // Optionally pick the fastest of the heuristic's candidates.
            int best = 0;
            double t = 0;
            if (g.algo_count() > 1) {
                double best_t = 1e30;
                for (int a = 0; a < g.algo_count(); ++a) {
                    g.choose(a);
                    double ta = fcal::time_median(launch, s, std::min(repeats, 5));
                    if (ta < best_t) { best_t = ta; best = a; }
                }
            }
            g.choose(best);
            t = fcal::time_median(launch, s, repeats);
            fcal::Sample smp = fcal::loop_with_power(launch, s, nv, o, t);
            double flops = 2.0 * sh.m * sh.n * sh.k;
            tr.row("gemm", p.name, sh.m, sh.n, sh.k, -1, t, flops / t, smp);
            std::fprintf(stderr, "gemm %-4s m=%5ld n=%5ld k=%5ld  %10.2f us  %8.1f TFLOP/s  %6.1f W\n", p.name, sh.m,
                         sh.n, sh.k, t * 1e6, flops / t / 1e12, smp.power_w);
            CUDA_CHECK(cudaFree(op.base));
        }
    }
    g.release();
    CUDA_CHECK(cudaStreamDestroy(s));
    CUDA_CHECK(cudaFree(workspace));
    CUDA_CHECK(cudaFree(one));
    CUBLAS_CHECK(cublasLtDestroy(lt));
    tr.close();
    return 0;
}
