#ifndef FUTE_CFUTEKERNELS_H
#define FUTE_CFUTEKERNELS_H
/*
 * The AVX2+FMA build of the Swift distance kernels (kernels_avx2_x86_64_linux.S, generated from
 * Sources/Kernels/SIMDKernels.swift by Tools/generate-avx2-kernels.sh) and the run-time choice
 * between it and the portable Swift kernels. Callers: Kernels (Distance) and Index (the layer-0
 * search); everyone else goes through Kernels.Distance.
 *
 * Call a fute_avx2_* function only when fute_kernels_use_avx2() returns 1: on a CPU without AVX2
 * and FMA it would fault (SIGILL), and on other platforms it is a stub that traps.
 */

/* 1 when the AVX2+FMA kernels are compiled in (x86-64 Linux) and this CPU and OS can run them
 * (CPUID: AVX, AVX2, FMA, F16C, OSXSAVE; XGETBV: the OS saves the ymm registers). */
int fute_avx2_fma_supported(void);

/* The choice made at the first call of fute_kernels_use_avx2(): -1 not made yet, 0 portable,
 * 1 AVX2+FMA. Read through fute_kernels_use_avx2(). */
extern int fute_kernels_selection;

/* Makes the choice: FUTE_KERNELS=portable forces the portable kernels; otherwise the AVX2+FMA
 * kernels when fute_avx2_fma_supported(). Returns it. */
int fute_kernels_select(void);

/* 1 when the environment sets FUTE_KERNELS=portable. */
int fute_kernels_environment_forces_portable(void);

/* Overrides the choice (tests): 1 asks for AVX2+FMA (granted only when supported), 0 portable,
 * -1 chooses again from the environment and the CPU. Returns the choice in effect. */
int fute_kernels_force(int selection);

/* 1 when the distance functions use the AVX2+FMA kernels, else 0. One load and a predictable
 * branch per call once the choice is made. */
static inline int fute_kernels_use_avx2(void) {
    int s = __atomic_load_n(&fute_kernels_selection, __ATOMIC_RELAXED);
    return s >= 0 ? s : fute_kernels_select();
}

/* The kernels (same arguments and results as Distance's; counts in floats, any alignment). */
float fute_avx2_l2sq(const float *a, const float *b, long count);
float fute_avx2_dot(const float *a, const float *b, long count);
float fute_avx2_cosine_distance(const float *a, const float *b, long count);

/* One query against n stored vectors: out[j] = distance(query, vectors[j]) for the metric's
 * stored form: squared L2, −dot (ip), 1 − dot clamped to [0, 2] (cosine on unit vectors). */
void fute_avx2_l2sq_batch(const float *query, const void *const *vectors, long n, long count, float *out);
void fute_avx2_negated_dot_batch(const float *query, const void *const *vectors, long n, long count, float *out);
void fute_avx2_unit_cosine_batch(const float *query, const void *const *vectors, long n, long count, float *out);

/* The same with the stored side in IEEE binary16 (`b`, `vectors[j]`: `count` halves, any
 * alignment; the query stays float). */
float fute_avx2_half_l2sq(const float *a, const void *b, long count);
float fute_avx2_half_dot(const float *a, const void *b, long count);
void fute_avx2_half_l2sq_batch(const float *query, const void *const *vectors, long n, long count, float *out);
void fute_avx2_half_negated_dot_batch(const float *query, const void *const *vectors, long n, long count, float *out);
void fute_avx2_half_unit_cosine_batch(const float *query, const void *const *vectors, long n, long count, float *out);
/* target[i] = the float value of half i of source, for i < count. */
void fute_avx2_decode_halves(const void *source, float *target, long count);

#endif
