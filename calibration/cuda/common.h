// common.h — shared plumbing of the factorysim CUDA microbenchmarks.
//
// Purpose: gemm_bench, hbm_bench and attention_bench each measure one thing
// that the simulator's roofline model needs (matrix throughput, memory
// bandwidth, decode-attention bandwidth) and write it in the calibration trace
// format of calibration/TRACE_FORMAT.md. Everything they share lives here so
// that the three traces agree on method: checked CUDA calls, event timing
// (warm-up, then the median of R repeats), pseudo-random device data, an NVML
// power/clock/temperature sampler loaded at run time, the provenance header
// and the CSV rows. The header is self-contained (no common.cu) because each
// tool is built, and compile-checked by `make test`, as one translation unit.
//
// RULE: these tools only OBSERVE the GPU. They never change clocks, power
// limits or application clocks (no nvmlDeviceSet*, no nvmlDeviceResetApplicationsClocks,
// no cudaDeviceSetLimit on clocks): a calibration must describe the GPU as the
// operator runs it, and a tool that changed settings would leave a shared
// machine altered after it exits. Only NVML getters are resolved below.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>

#include <dlfcn.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#define FCAL_TOOL_VERSION "factorysim-calibration 0.1.0"

// Every CUDA runtime call goes through CUDA_CHECK: a benchmark that silently
// continues after an error would write plausible-looking but meaningless rows.
#define CUDA_CHECK(call)                                                                   \
    do {                                                                                   \
        cudaError_t fcal_err_ = (call);                                                    \
        if (fcal_err_ != cudaSuccess) {                                                    \
            std::fprintf(stderr, "%s:%d: CUDA error %s: %s\n  in %s\n", __FILE__, __LINE__, \
                         cudaGetErrorName(fcal_err_), cudaGetErrorString(fcal_err_), #call); \
            std::exit(EXIT_FAILURE);                                                       \
        }                                                                                  \
    } while (0)

// Kernel launches return nothing: check the launch error right after each one.
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())

// Expands only where used, so files without cuBLAS never need its header.
#define CUBLAS_CHECK(call)                                                                 \
    do {                                                                                   \
        cublasStatus_t fcal_st_ = (call);                                                  \
        if (fcal_st_ != CUBLAS_STATUS_SUCCESS) {                                           \
            std::fprintf(stderr, "%s:%d: cuBLAS error %d: %s\n  in %s\n", __FILE__, __LINE__, \
                         (int)fcal_st_, cublasGetStatusString(fcal_st_), #call);           \
            std::exit(EXIT_FAILURE);                                                       \
        }                                                                                  \
    } while (0)

namespace fcal {

// ---------------------------------------------------------------------------
// Command line shared by the tools: TOOL [-o trace.csv] [--quick] [--device N]

struct Options {
    std::string out;          // empty: write the trace to stdout
    bool quick = false;       // fewer points and repeats (smoke runs)
    int device = 0;           // CUDA device ordinal
    int repeats = 0;          // 0: tool default (20, or 5 with --quick)
    double power_s = 1.0;     // seconds each power-reporting loop lasts (>= 1 s)
    bool power = true;        // --no-power: skip the NVML loops (faster, empty columns)
    bool idle = false;        // --idle: write an idle row even when appending
};

inline void common_usage(FILE* f) {
    std::fprintf(f,
                 "  -o FILE        trace CSV (appended to when it exists; header written once)\n"
                 "  --quick        fewer points and repeats\n"
                 "  --device N     CUDA device ordinal (default 0)\n"
                 "  --repeats R    timed repeats per point (default 20, --quick 5)\n"
                 "  --power-s S    seconds each power loop runs (default 1, minimum 1)\n"
                 "  --no-power     no NVML loops: power, clock and temperature left empty\n"
                 "  --idle         write an idle-power row even when appending\n");
}

// Consumes argv[*i] (and its value) when it is a common flag.
inline bool parse_common(int* i, int argc, char** argv, Options* o) {
    const char* a = argv[*i];
    auto value = [&](void) -> const char* {
        if (*i + 1 >= argc) {
            std::fprintf(stderr, "missing value after %s\n", a);
            std::exit(2);
        }
        return argv[++*i];
    };
    if (!std::strcmp(a, "-o")) o->out = value();
    else if (!std::strcmp(a, "--quick")) o->quick = true;
    else if (!std::strcmp(a, "--device")) o->device = std::atoi(value());
    else if (!std::strcmp(a, "--repeats")) o->repeats = std::max(1, std::atoi(value()));
    else if (!std::strcmp(a, "--power-s")) o->power_s = std::max(1.0, std::atof(value()));
    else if (!std::strcmp(a, "--no-power")) o->power = false;
    else if (!std::strcmp(a, "--idle")) o->idle = true;
    else return false;
    return true;
}

inline int repeats_of(const Options& o) { return o.repeats > 0 ? o.repeats : (o.quick ? 5 : 20); }

// ---------------------------------------------------------------------------
// NVML, opened with dlopen: the build must not depend on nvml.h or on the
// library, and the tools must still run (with empty power columns) without it.
// Only the few types and getters used are declared, matching nvml.h's ABI.

typedef int nvmlReturn_t;                        // enum in nvml.h; NVML_SUCCESS == 0
typedef struct nvmlDevice_st* nvmlDevice_t;      // opaque handle
enum { FCAL_NVML_CLOCK_SM = 1, FCAL_NVML_CLOCK_MEM = 2, FCAL_NVML_TEMPERATURE_GPU = 0 };

class Nvml {
  public:
    bool ok() const { return dev_ != nullptr; }

    // Resolves the library and the handle of the GPU behind CUDA device `cuda_dev`.
    bool open(int cuda_dev) {
        lib_ = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
        if (!lib_) lib_ = dlopen("libnvidia-ml.so", RTLD_NOW | RTLD_LOCAL);
        if (!lib_) return false;
        init_ = (nvmlReturn_t(*)())dlsym(lib_, "nvmlInit_v2");
        shutdown_ = (nvmlReturn_t(*)())dlsym(lib_, "nvmlShutdown");
        by_index_ = (nvmlReturn_t(*)(unsigned, nvmlDevice_t*))dlsym(lib_, "nvmlDeviceGetHandleByIndex_v2");
        by_pci_ = (nvmlReturn_t(*)(const char*, nvmlDevice_t*))dlsym(lib_, "nvmlDeviceGetHandleByPciBusId_v2");
        power_ = (nvmlReturn_t(*)(nvmlDevice_t, unsigned*))dlsym(lib_, "nvmlDeviceGetPowerUsage");
        limit_ = (nvmlReturn_t(*)(nvmlDevice_t, unsigned*))dlsym(lib_, "nvmlDeviceGetEnforcedPowerLimit");
        clock_ = (nvmlReturn_t(*)(nvmlDevice_t, int, unsigned*))dlsym(lib_, "nvmlDeviceGetClockInfo");
        app_clock_ = (nvmlReturn_t(*)(nvmlDevice_t, int, unsigned*))dlsym(lib_, "nvmlDeviceGetApplicationsClock");
        temp_ = (nvmlReturn_t(*)(nvmlDevice_t, int, unsigned*))dlsym(lib_, "nvmlDeviceGetTemperature");
        driver_ = (nvmlReturn_t(*)(char*, unsigned))dlsym(lib_, "nvmlSystemGetDriverVersion");
        if (!init_ || !shutdown_ || !by_index_ || init_() != 0) {
            dlclose(lib_);
            lib_ = nullptr;
            return false;
        }
        // NVML enumerates GPUs in PCI order, CUDA by speed unless
        // CUDA_DEVICE_ORDER=PCI_BUS_ID, and CUDA_VISIBLE_DEVICES renumbers:
        // match by PCI bus id so power is read from the GPU being measured.
        char bus[32] = {0};
        nvmlDevice_t d = nullptr;
        if (by_pci_ && cudaDeviceGetPCIBusId(bus, sizeof bus, cuda_dev) == cudaSuccess &&
            by_pci_(bus, &d) == 0)
            dev_ = d;
        else if (by_index_((unsigned)cuda_dev, &d) == 0)
            dev_ = d;
        (void)cudaGetLastError();  // a failed bus-id query must not poison later checks
        return dev_ != nullptr;
    }
    void close() {
        if (lib_) {
            if (shutdown_) shutdown_();
            dlclose(lib_);
        }
        lib_ = nullptr;
        dev_ = nullptr;
    }
    ~Nvml() { close(); }

    bool power_w(double* w) const {
        unsigned mw;
        if (!dev_ || !power_ || power_(dev_, &mw) != 0) return false;
        *w = mw / 1000.0;
        return true;
    }
    bool power_limit_w(double* w) const {
        unsigned mw;
        if (!dev_ || !limit_ || limit_(dev_, &mw) != 0) return false;
        *w = mw / 1000.0;
        return true;
    }
    bool sm_clock_mhz(unsigned* mhz) const { return dev_ && clock_ && clock_(dev_, FCAL_NVML_CLOCK_SM, mhz) == 0; }
    bool mem_clock_mhz(unsigned* mhz) const { return dev_ && clock_ && clock_(dev_, FCAL_NVML_CLOCK_MEM, mhz) == 0; }
    // Application clocks are read (never set): they are what the GPU targets under load.
    bool app_sm_clock_mhz(unsigned* mhz) const {
        return dev_ && app_clock_ && app_clock_(dev_, FCAL_NVML_CLOCK_SM, mhz) == 0;
    }
    bool app_mem_clock_mhz(unsigned* mhz) const {
        return dev_ && app_clock_ && app_clock_(dev_, FCAL_NVML_CLOCK_MEM, mhz) == 0;
    }
    bool temp_c(unsigned* c) const { return dev_ && temp_ && temp_(dev_, FCAL_NVML_TEMPERATURE_GPU, c) == 0; }
    bool driver_version(std::string* s) const {
        char buf[96] = {0};
        if (!lib_ || !driver_ || driver_(buf, sizeof buf) != 0) return false;
        *s = buf;
        return true;
    }

  private:
    void* lib_ = nullptr;
    nvmlDevice_t dev_ = nullptr;
    nvmlReturn_t (*init_)() = nullptr;
    nvmlReturn_t (*shutdown_)() = nullptr;
    nvmlReturn_t (*by_index_)(unsigned, nvmlDevice_t*) = nullptr;
    nvmlReturn_t (*by_pci_)(const char*, nvmlDevice_t*) = nullptr;
    nvmlReturn_t (*power_)(nvmlDevice_t, unsigned*) = nullptr;
    nvmlReturn_t (*limit_)(nvmlDevice_t, unsigned*) = nullptr;
    nvmlReturn_t (*clock_)(nvmlDevice_t, int, unsigned*) = nullptr;
    nvmlReturn_t (*app_clock_)(nvmlDevice_t, int, unsigned*) = nullptr;
    nvmlReturn_t (*temp_)(nvmlDevice_t, int, unsigned*) = nullptr;
    nvmlReturn_t (*driver_)(char*, unsigned) = nullptr;
};

// Means over one sampled interval; NaN where nothing was sampled (written as
// empty CSV fields).
struct Sample {
    double power_w = NAN;
    double sm_clock_mhz = NAN;
    double temp_c = NAN;
};

// A pthread that reads power, SM clock and temperature every 20 ms while the
// main thread keeps the GPU busy. Means rather than a single reading because
// board power fluctuates by tens of watts within a second.
class PowerSampler {
  public:
    explicit PowerSampler(const Nvml* nv) : nv_(nv) {}
    void start() {
        stop_.store(false);
        sum_p_ = sum_c_ = sum_t_ = 0;
        n_p_ = n_c_ = n_t_ = 0;
        running_ = nv_->ok() && pthread_create(&th_, nullptr, &PowerSampler::run, this) == 0;
    }
    Sample finish() {
        Sample s;
        if (!running_) return s;
        stop_.store(true);
        pthread_join(th_, nullptr);  // join orders the sampler's sums before these reads
        running_ = false;
        if (n_p_) s.power_w = sum_p_ / n_p_;
        if (n_c_) s.sm_clock_mhz = sum_c_ / n_c_;
        if (n_t_) s.temp_c = sum_t_ / n_t_;
        return s;
    }

  private:
    static void* run(void* arg) {
        auto* self = static_cast<PowerSampler*>(arg);
        const struct timespec period = {0, 20 * 1000 * 1000};
        while (!self->stop_.load()) {
            double w;
            unsigned v;
            if (self->nv_->power_w(&w)) { self->sum_p_ += w; ++self->n_p_; }
            if (self->nv_->sm_clock_mhz(&v)) { self->sum_c_ += v; ++self->n_c_; }
            if (self->nv_->temp_c(&v)) { self->sum_t_ += v; ++self->n_t_; }
            nanosleep(&period, nullptr);
        }
        return nullptr;
    }
    const Nvml* nv_;
    pthread_t th_{};
    bool running_ = false;
    std::atomic<bool> stop_{false};
    double sum_p_ = 0, sum_c_ = 0, sum_t_ = 0;
    long n_p_ = 0, n_c_ = 0, n_t_ = 0;
};

// ---------------------------------------------------------------------------
// Pseudo-random device data. A hash of the element index (splitmix64) instead
// of cuRAND: no extra library, reproducible, and any element is computable on
// the host for checks. Values are +-[0.25, 1) * scale: never zero, because
// zeros would let the hardware skip work and toggle fewer bits, which lowers
// power and can even raise speed (unrepresentative of real weights).

__host__ __device__ inline uint64_t mix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

__host__ __device__ inline float random_value(uint64_t seed, uint64_t i, float scale) {
    uint64_t h = mix64(seed * 0x2545F4914F6CDD1Dull ^ mix64(i));
    float mag = 0.25f + 0.75f * (float)((h >> 40) & 0xFFFFFF) * (1.0f / 16777216.0f);
    return ((h & 1) ? -mag : mag) * scale;
}

template <typename T> __device__ inline T from_float(float v) { return T(v); }
template <> __device__ inline __half from_float<__half>(float v) { return __float2half_rn(v); }
template <> __device__ inline __nv_bfloat16 from_float<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }
template <> __device__ inline __nv_fp8_e4m3 from_float<__nv_fp8_e4m3>(float v) { return __nv_fp8_e4m3(v); }

template <typename T>
__global__ void fill_random_kernel(T* p, size_t n, uint64_t seed, float scale) {
    size_t stride = (size_t)gridDim.x * blockDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        p[i] = from_float<T>(random_value(seed, i, scale));
}

template <typename T>
inline void fill_random(T* p, size_t n, uint64_t seed, float scale = 1.0f, cudaStream_t s = 0) {
    if (n == 0) return;
    unsigned blocks = (unsigned)std::min<size_t>((n + 255) / 256, 65535u * 8u);
    fill_random_kernel<T><<<blocks, 256, 0, s>>>(p, n, seed, scale);
    CUDA_CHECK_LAUNCH();
}

// ---------------------------------------------------------------------------
// Timing. cudaEvents bracket the GPU work (host clocks would include launch
// latency). Very short kernels (decode GEMMs, L2-sized copies) take a few
// microseconds, comparable to the host's launch rate, so each repeat replays
// a CUDA graph of `inner` back-to-back launches sized to >= ~2 ms and divides
// (a graph keeps the GPU fed where one-by-one launches would leave it waiting
// on the host, as serving engines do with graphs too); the reported time is
// the median over the repeats (robust to a stray slow one).
// `launch(i)` enqueues the i-th launch on `s`; i lets callers rotate buffers.

template <class Launch>
cudaGraphExec_t capture_graph(Launch& launch, cudaStream_t s, long count, long* it) {
    cudaGraph_t g;
    cudaGraphExec_t e;
    CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
    for (long j = 0; j < count; ++j) launch((*it)++);
    CUDA_CHECK(cudaStreamEndCapture(s, &g));
    CUDA_CHECK(cudaGraphInstantiate(&e, g, 0));
    CUDA_CHECK(cudaGraphDestroy(g));
    return e;
}

template <class Launch>
double time_median(Launch&& launch, cudaStream_t s, int repeats, int* inner_out = nullptr) {
    long it = 0;
    for (int w = 0; w < 3; ++w) launch(it++);  // warm-up: clocks up, caches/heuristics settled
    CUDA_CHECK(cudaStreamSynchronize(s));
    cudaEvent_t e0, e1;
    CUDA_CHECK(cudaEventCreate(&e0));
    CUDA_CHECK(cudaEventCreate(&e1));
    float ms = 0;
    CUDA_CHECK(cudaEventRecord(e0, s));
    launch(it++);
    CUDA_CHECK(cudaEventRecord(e1, s));
    CUDA_CHECK(cudaEventSynchronize(e1));
    CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
    double one = std::max(ms * 1e-3, 1e-7);
    int inner = (int)std::min(1000.0, std::max(1.0, std::ceil(2e-3 / one)));
    cudaGraphExec_t graph = capture_graph(launch, s, inner, &it);
    CUDA_CHECK(cudaGraphLaunch(graph, s));  // first replay uploads the graph: not timed
    CUDA_CHECK(cudaStreamSynchronize(s));
    std::vector<double> t;
    for (int r = 0; r < repeats; ++r) {
        CUDA_CHECK(cudaEventRecord(e0, s));
        CUDA_CHECK(cudaGraphLaunch(graph, s));
        CUDA_CHECK(cudaEventRecord(e1, s));
        CUDA_CHECK(cudaEventSynchronize(e1));
        CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
        t.push_back(ms * 1e-3 / inner);
    }
    CUDA_CHECK(cudaGraphExecDestroy(graph));
    CUDA_CHECK(cudaEventDestroy(e0));
    CUDA_CHECK(cudaEventDestroy(e1));
    std::sort(t.begin(), t.end());
    if (inner_out) *inner_out = inner;
    size_t m = t.size();
    return m % 2 ? t[m / 2] : 0.5 * (t[m / 2 - 1] + t[m / 2]);
}

inline double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Power: loops the same launch for at least `seconds` with the sampler
// running, so every reported watt belongs to that one kernel at steady state.
// A short unsampled lead-in (~0.25 s) lets power and clocks leave the previous
// state first; NVML's power reading is itself averaged by the driver (about
// 1 s windows on recent GPUs), so longer loops (--power-s) give cleaner means.
// Launches go through a graph of ~50 ms of work: the host checks the time
// often and the GPU never waits on launch overhead. Empty samples without NVML.
template <class Launch>
Sample loop_with_power(Launch&& launch, cudaStream_t s, const Nvml& nv, const Options& o, double t_kernel) {
    if (!nv.ok() || !o.power) return Sample{};
    long batch = (long)std::min(1000.0, std::max(1.0, 0.05 / std::max(t_kernel, 1e-7)));
    long it = 0;
    cudaGraphExec_t graph = capture_graph(launch, s, batch, &it);
    double t0 = now_s();
    while (now_s() - t0 < 0.25) {
        CUDA_CHECK(cudaGraphLaunch(graph, s));
        CUDA_CHECK(cudaStreamSynchronize(s));
    }
    PowerSampler ps(&nv);
    ps.start();
    t0 = now_s();
    do {
        CUDA_CHECK(cudaGraphLaunch(graph, s));
        CUDA_CHECK(cudaStreamSynchronize(s));
    } while (now_s() - t0 < o.power_s);
    Sample smp = ps.finish();
    CUDA_CHECK(cudaGraphExecDestroy(graph));
    return smp;
}

// ---------------------------------------------------------------------------
// Device description and the trace file.

struct DeviceInfo {
    cudaDeviceProp prop{};
    int device = 0;
    int sm_count = 0;
    size_t l2_bytes = 0;
    size_t free_bytes = 0, total_bytes = 0;
    int sm_clock_khz = 0, mem_clock_khz = 0;  // peak clocks from the runtime
    int driver_api = 0, runtime = 0;
    int cc() const { return prop.major * 10 + prop.minor; }
};

inline DeviceInfo query_device(int dev) {
    DeviceInfo d;
    d.device = dev;
    int n = 0;
    CUDA_CHECK(cudaGetDeviceCount(&n));
    if (dev < 0 || dev >= n) {
        std::fprintf(stderr, "device %d not present (%d CUDA devices)\n", dev, n);
        std::exit(2);
    }
    CUDA_CHECK(cudaSetDevice(dev));
    CUDA_CHECK(cudaGetDeviceProperties(&d.prop, dev));
    CUDA_CHECK(cudaDeviceGetAttribute(&d.sm_count, cudaDevAttrMultiProcessorCount, dev));
    int l2 = 0;
    CUDA_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, dev));
    d.l2_bytes = (size_t)l2;
    // Clock attributes may be unsupported on some parts: unknown, not fatal.
    if (cudaDeviceGetAttribute(&d.sm_clock_khz, cudaDevAttrClockRate, dev) != cudaSuccess) d.sm_clock_khz = 0;
    if (cudaDeviceGetAttribute(&d.mem_clock_khz, cudaDevAttrMemoryClockRate, dev) != cudaSuccess) d.mem_clock_khz = 0;
    (void)cudaGetLastError();
    CUDA_CHECK(cudaDriverGetVersion(&d.driver_api));
    CUDA_CHECK(cudaRuntimeGetVersion(&d.runtime));
    CUDA_CHECK(cudaMemGetInfo(&d.free_bytes, &d.total_bytes));
    return d;
}

inline std::string cuda_version_string(int v) {
    char b[32];
    std::snprintf(b, sizeof b, "%d.%d", v / 1000, (v % 1000) / 10);
    return b;
}

inline std::string iso_utc_now() {
    time_t t = time(nullptr);
    struct tm g;
    gmtime_r(&t, &g);
    char b[32];
    strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &g);
    return b;
}

// Value of "# key: value" in an existing trace, "" when absent.
inline std::string header_value(const char* path, const char* key) {
    FILE* f = std::fopen(path, "r");
    if (!f) return "";
    char line[512];
    std::string want = std::string("# ") + key + ":";
    std::string v;
    while (std::fgets(line, sizeof line, f)) {
        if (line[0] != '#') break;
        if (!std::strncmp(line, want.c_str(), want.size())) {
            v = line + want.size();
            v.erase(0, v.find_first_not_of(" \t"));
            size_t c = v.find("  ");  // strip trailing comments and newline
            if (c != std::string::npos) v.erase(c);
            while (!v.empty() && (v.back() == '\n' || v.back() == '\r' || v.back() == ' ')) v.pop_back();
            break;
        }
    }
    std::fclose(f);
    return v;
}

class Trace {
  public:
    // Opens `o.out` (stdout when empty). An existing non-empty file is
    // appended to, so the three tools build one trace; the provenance header
    // is written only when the file is new, and a trace of another GPU is
    // refused rather than mixed.
    void open(const Options& o, const DeviceInfo& d, const Nvml& nv, const char* program) {
        struct stat st;
        bool append = !o.out.empty() && stat(o.out.c_str(), &st) == 0 && st.st_size > 0;
        if (append) {
            std::string dev = header_value(o.out.c_str(), "device");
            if (dev != d.prop.name) {
                std::fprintf(stderr, "%s: %s was recorded on '%s', this is '%s': use another -o\n", program,
                             o.out.c_str(), dev.c_str(), d.prop.name);
                std::exit(2);
            }
        }
        f_ = o.out.empty() ? stdout : std::fopen(o.out.c_str(), append ? "a" : "w");
        if (!f_) {
            std::fprintf(stderr, "%s: cannot open %s: %s\n", program, o.out.c_str(), std::strerror(errno));
            std::exit(2);
        }
        new_file_ = !append;
        if (new_file_) write_header(d, nv, program);
    }
    bool new_file() const { return new_file_; }

    // One measurement. Negative/NaN fields are written empty.
    void row(const char* kind, const char* precision, long long m, long long n, long long k, double bytes,
             double time_s, double achieved, const Sample& s) {
        std::string line = kind;
        line += ',';
        line += precision ? precision : "";
        line += ',' + fmt_int(m) + ',' + fmt_int(n) + ',' + fmt_int(k);
        line += ',' + (bytes >= 0 ? fmt("%.0f", bytes) : std::string());
        line += ',' + fmt("%.6g", time_s);
        line += ',' + fmt("%.4e", achieved);
        line += ',' + fmt("%.0f", s.sm_clock_mhz);
        line += ',' + fmt("%.1f", s.power_w);
        line += ',' + fmt("%.1f", s.temp_c);
        std::fprintf(f_, "%s\n", line.c_str());
        std::fflush(f_);  // a crash later still leaves every finished row on disk
    }
    void close() {
        if (f_ && f_ != stdout) std::fclose(f_);
        f_ = nullptr;
    }
    ~Trace() { close(); }

  private:
    static std::string fmt(const char* f, double v) {
        if (!std::isfinite(v)) return "";
        char b[64];
        std::snprintf(b, sizeof b, f, v);
        return b;
    }
    static std::string fmt_int(long long v) { return v < 0 ? std::string() : std::to_string(v); }

    void write_header(const DeviceInfo& d, const Nvml& nv, const char* program) {
        std::string driver;
        if (!nv.driver_version(&driver)) driver = "unknown (CUDA driver API " + cuda_version_string(d.driver_api) + ")";
        unsigned sm = 0, mem = 0;
        std::string sm_s = "unknown", mem_s = "unknown", sm_src = "", mem_src = "";
        if (nv.app_sm_clock_mhz(&sm) && sm > 0) { sm_s = std::to_string(sm); sm_src = "NVML application clock"; }
        else if (d.sm_clock_khz > 0) { sm_s = std::to_string(d.sm_clock_khz / 1000); sm_src = "CUDA peak clock attribute"; }
        if (nv.app_mem_clock_mhz(&mem) && mem > 0) { mem_s = std::to_string(mem); mem_src = "NVML application clock"; }
        else if (d.mem_clock_khz > 0) { mem_s = std::to_string(d.mem_clock_khz / 1000); mem_src = "CUDA peak clock attribute"; }
        double plim = 0;
        std::string plim_s = nv.power_limit_w(&plim) ? fmt("%.0f", plim) : "unknown";
        FILE* f = f_;
        std::fprintf(f, "# factorysim calibration trace v1\n");
        std::fprintf(f, "# device: %s\n", d.prop.name);
        std::fprintf(f, "# compute_capability: %d.%d\n", d.prop.major, d.prop.minor);
        std::fprintf(f, "# driver: %s\n", driver.c_str());
        std::fprintf(f, "# cuda: %s\n", cuda_version_string(d.runtime).c_str());
        std::fprintf(f, "# cuda_driver_api: %s\n", cuda_version_string(d.driver_api).c_str());
        std::fprintf(f, "# sm_clock_mhz: %s%s%s%s\n", sm_s.c_str(), sm_src.empty() ? "" : "  (", sm_src.c_str(),
                     sm_src.empty() ? "; never changed" : ", found at start; never changed)");
        std::fprintf(f, "# mem_clock_mhz: %s%s%s%s\n", mem_s.c_str(), mem_src.empty() ? "" : "  (", mem_src.c_str(),
                     mem_src.empty() ? "" : ", found at start; never changed)");
        std::fprintf(f, "# power_limit_w: %s  (enforced limit found; never changed)\n", plim_s.c_str());
        std::fprintf(f, "# sm_count: %d\n", d.sm_count);
        std::fprintf(f, "# l2_bytes: %zu\n", d.l2_bytes);
        std::fprintf(f, "# memory_bytes: %zu\n", d.total_bytes);
        std::fprintf(f, "# nvml: %s\n", nv.ok() ? "yes" : "no (power, clock and temperature columns empty)");
        std::fprintf(f, "# date: %s\n", iso_utc_now().c_str());
        std::fprintf(f, "# tool: %s (%s first)\n", FCAL_TOOL_VERSION, program);
        std::fprintf(f, "# synthetic: no\n");
        std::fprintf(f, "kind,precision,m,n,k,bytes,time_s,achieved,sm_clock_mhz,power_w,temp_c\n");
        std::fflush(f);
    }

    FILE* f_ = nullptr;
    bool new_file_ = false;
};

// Idle power: 1 s (or --power-s) of sampling with nothing launched. Written
// by the tool that creates the trace (before any load warms the GPU), or on
// --idle. Without NVML there is nothing to report and no row is written.
inline void idle_row(Trace* tr, const Nvml& nv, const Options& o) {
    if (!nv.ok() || !o.power) {
        std::fprintf(stderr, "idle: NVML unavailable or --no-power, no idle row\n");
        return;
    }
    CUDA_CHECK(cudaDeviceSynchronize());
    PowerSampler ps(&nv);
    double t0 = now_s();
    ps.start();
    const struct timespec step = {0, 50 * 1000 * 1000};
    while (now_s() - t0 < o.power_s) nanosleep(&step, nullptr);
    Sample s = ps.finish();
    double dt = now_s() - t0;
    tr->row("idle", "", -1, -1, -1, -1, dt, NAN, s);
    std::fprintf(stderr, "idle: %.1f W, %.0f MHz, %.0f C\n", s.power_w, s.sm_clock_mhz, s.temp_c);
}

// Common start of every tool: device, NVML, trace, idle row.
inline DeviceInfo start_tool(const Options& o, const char* program, Nvml* nv, Trace* tr) {
    DeviceInfo d = query_device(o.device);
    if (!nv->open(o.device))
        std::fprintf(stderr, "%s: NVML not available: power, clock and temperature columns left empty\n", program);
    std::fprintf(stderr, "%s: %s (cc %d.%d, %d SMs, L2 %.0f MiB, %.1f GiB free)\n", program, d.prop.name, d.prop.major,
                 d.prop.minor, d.sm_count, d.l2_bytes / 1048576.0, d.free_bytes / 1073741824.0);
    tr->open(o, d, *nv, program);
    if (tr->new_file() || o.idle) idle_row(tr, *nv, o);
    return d;
}

}  // namespace fcal
