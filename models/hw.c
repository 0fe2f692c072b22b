/*
 * hw.c - derived quantities of the catalog types (see hw.h).
 */
#include "hw.h"

double hw_precision_bytes(int precision)
{
	switch (precision) {
	case HW_FP8: return 1.0;
	case HW_FP4: return 0.5;
	default: return 2.0;
	}
}

const char *hw_precision_name(int precision)
{
	switch (precision) {
	case HW_FP8: return "fp8";
	case HW_FP4: return "fp4";
	default: return "fp16";
	}
}

double llm_weight_bytes(const llm_spec *m)
{
	return m->params_total * hw_precision_bytes(m->weight_precision);
}

double llm_kv_bytes_per_token(const llm_spec *m)
{
	double b = hw_precision_bytes(m->kv_precision);
	if (m->kv_lora_rank > 0) /* MLA caches one latent vector + the RoPE key per layer */
		return (double)m->layers * (m->kv_lora_rank + m->rope_dim) * b;
	return 2.0 * m->layers * m->kv_heads * m->head_dim * b;
}

double llm_dense_flops_per_token(const llm_spec *m)
{
	return 2.0 * m->params_active;
}

double llm_attn_flops_per_pair(const llm_spec *m)
{
	return 4.0 * m->layers * m->heads * m->head_dim;
}
