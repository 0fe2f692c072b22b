/*
 * hw.h - the hardware and LLM catalog types.
 *
 * Plain structs with SI fields, filled from scenarios/catalog/ (one YAML file per kind) (each
 * figure with its source in a comment there) and overridable from a scenario.
 * Models read them; nothing here allocates.  Derived LLM quantities (FLOPs per
 * token, weight bytes, KV bytes per token) are functions below, so there is
 * one definition of each.
 */
#ifndef FS_HW_H
#define FS_HW_H

#include <stdbool.h>
#include <stddef.h>

#define HW_NAME_LEN 64
#define HW_LABEL_LEN 128

enum hw_precision { HW_FP16 = 0, HW_FP8 = 1, HW_FP4 = 2, HW_NPREC = 3 };

typedef struct gpu_spec {
	char name[HW_NAME_LEN];     /* catalog key, e.g. "h100" */
	char label[HW_LABEL_LEN];   /* "NVIDIA H100 SXM" */
	double flops[HW_NPREC];     /* dense peak per precision [FLOP/s]; 0 = unsupported */
	double mem_bytes;           /* HBM (or GDDR) capacity [B] */
	double mem_bw;              /* memory bandwidth [B/s] */
	double scale_up_bw;         /* NVLink per GPU per direction [B/s] */
	double scale_out_bw;        /* NIC per GPU per direction [B/s] */
	double tdp_w;               /* board power limit [W] */
	double idle_w;              /* idle power [W] */
	double clock_min_hz;        /* lowest SM clock [Hz] */
	double clock_max_hz;        /* max boost SM clock [Hz] */
	/* Power: P = idle + (tdp - idle) x activity x (f / f_max)^gamma, where the
	 * activity of an iteration is 1 while it is compute-bound and falls to
	 * memory_activity while it is bound by memory bandwidth. */
	double power_gamma;         /* clock exponent, about 2-3 */
	double memory_activity;     /* activity of a purely memory-bound iteration, 0..1 */
	/* Cooling: T_gpu = T_inlet + r_th x P (cold plate, or heat sink for air). */
	double r_th_k_per_w;        /* junction over coolant inlet per W [K/W] */
	double throttle_c;          /* clocks fall above this [degC] */
	double shutdown_c;          /* the GPU (its rack) trips above this [degC] */
	/* Efficiencies of the roofline: 1 = datasheet (uncalibrated). */
	double eff_compute;         /* achieved / peak FLOP/s, 0..1 (the plateau) */
	double eff_memory;          /* achieved / peak bandwidth, 0..1 (the plateau) */
	/* Efficiency curves from calibration: compute efficiency is
	 * eff_compute x m / (m + compute_half_tokens) for m tokens in an iteration
	 * (the GEMM's M), memory efficiency eff_memory x b / (b + memory_half_bytes)
	 * for b bytes read per GPU; 0 = flat (the datasheet roofline). */
	double compute_half_tokens;
	double memory_half_bytes;
	double eff_comm;            /* achieved / peak link bandwidth, 0..1 */
	double overhead_s;          /* fixed per-iteration overhead [s] */
	double collective_latency_s; /* latency of one collective step [s] */
	bool calibrated;            /* efficiencies came from calibration */
} gpu_spec;

#define RACK_MAX_GPU_GROUPS 2

typedef struct rack_gpu_group {
	char gpu[HW_NAME_LEN];      /* gpu_spec name */
	int count;                  /* GPUs of this type in the rack */
} rack_gpu_group;

typedef struct rack_spec {
	char name[HW_NAME_LEN];     /* "gb300-nvl72" */
	char label[HW_LABEL_LEN];
	rack_gpu_group groups[RACK_MAX_GPU_GROUPS]; /* NVL144 CPX: rubin-cpx + rubin */
	int n_groups;
	int cpus;                   /* host CPUs */
	int nvlink_domain;          /* GPUs in one scale-up domain */
	double cpu_w;               /* per CPU [W] */
	double switch_w;            /* NVLink switches, NICs, management [W] */
	double fan_pump_w;          /* fans and in-rack pumps [W] */
	double psu_efficiency;      /* 0..1 at typical load */
	double liquid_share;        /* share of heat to liquid, 0..1 */
	int trays;                  /* compute trays (nodes); each group's GPUs split evenly */
	int switch_trays;           /* NVLink switch trays (0: switches on the tray's board) */
} rack_spec;

/* Reliability of the component classes a failure can take out: a GPU, a
 * compute tray (node), an NVLink switch tray, a whole rack. */
enum hw_fail_class { HW_FAIL_GPU, HW_FAIL_TRAY, HW_FAIL_SWITCH_TRAY, HW_FAIL_RACK,
		     HW_FAIL_CLASSES };
enum hw_life_dist { HW_LIFE_EXPONENTIAL, HW_LIFE_WEIBULL };
enum hw_repair_dist { HW_REPAIR_EXPONENTIAL, HW_REPAIR_FIXED };

typedef struct hw_lifetime {
	bool enabled;               /* false: this class never fails at random */
	double mtbf_s;              /* mean time between failures of one component [s] */
	int distribution;           /* enum hw_life_dist */
	double shape;               /* Weibull shape k (1 for exponential) */
	double repair_s;            /* mean time to repair in place (or in the shop) [s] */
	double replace_s;           /* mean time to swap a spare in [s] */
} hw_lifetime;

typedef struct hw_reliability {
	hw_lifetime cls[HW_FAIL_CLASSES];
	double detect_s;            /* failure -> noticed by the serving stack [s] */
	double drain_s;             /* longest wait for in-flight requests before a pull [s] */
	int repair_distribution;    /* enum hw_repair_dist, for repair and replace times */
} hw_reliability;

typedef struct llm_spec {
	char name[HW_NAME_LEN];     /* "llama-3.1-70b" */
	char label[HW_LABEL_LEN];
	double params_total;        /* parameters [1] */
	double params_active;       /* per token (MoE: shared + active experts) [1] */
	int layers;
	int hidden;                 /* model width */
	int heads;                  /* attention (query) heads */
	int kv_heads;               /* key/value heads (GQA) */
	int head_dim;
	int kv_lora_rank;           /* MLA latent width (DeepSeek); 0 = ordinary GQA */
	int rope_dim;               /* MLA decoupled RoPE key width */
	int experts;                /* routed experts per MoE layer; 0 = dense */
	int experts_active;         /* routed experts per token */
	double expert_share;        /* share of params_total in routed experts, 0..1 */
	int weight_precision;       /* enum hw_precision */
	int kv_precision;           /* enum hw_precision */
	double max_context;         /* tokens */
} llm_spec;

/* Bytes of one value at a precision: 2, 1, 0.5. */
double hw_precision_bytes(int precision);
const char *hw_precision_name(int precision);

/* Bytes of all weights. */
double llm_weight_bytes(const llm_spec *m);
/* KV-cache bytes one token occupies across all layers. */
double llm_kv_bytes_per_token(const llm_spec *m);
/* Dense (non-attention) FLOPs per token: 2 x active parameters. */
double llm_dense_flops_per_token(const llm_spec *m);
/* Attention FLOPs per (query token, context token) pair over all layers:
 * QK^T and AV, 2 FLOPs per multiply-add each. */
double llm_attn_flops_per_pair(const llm_spec *m);

#endif
