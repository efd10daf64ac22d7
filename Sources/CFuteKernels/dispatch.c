// Run-time choice between the AVX2+FMA kernels (kernels_avx2_x86_64_linux.S) and the portable
// Swift kernels; see include/CFuteKernels.h.
#include "CFuteKernels.h"

#include <stdlib.h>
#include <string.h>

int fute_kernels_selection = -1;

#if defined(__x86_64__) && defined(__linux__)
#include <cpuid.h>

int fute_avx2_fma_supported(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const unsigned fma = 1u << 12, osxsave = 1u << 27, avx = 1u << 28, f16c = 1u << 29;
    const unsigned needed = fma | osxsave | avx | f16c;
    if ((c & needed) != needed) return 0;
    // The OS must save the xmm and ymm state (XCR0 bits 1 and 2), or ymm registers are unusable.
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 6u) != 6u) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b & (1u << 5)) != 0;  // AVX2
}
#else
int fute_avx2_fma_supported(void) { return 0; }

// Never called (fute_kernels_use_avx2() is 0 here); they exist so the callers link everywhere.
float fute_avx2_l2sq(const float *a, const float *b, long count) { (void)a; (void)b; (void)count; __builtin_trap(); }
float fute_avx2_dot(const float *a, const float *b, long count) { (void)a; (void)b; (void)count; __builtin_trap(); }
float fute_avx2_cosine_distance(const float *a, const float *b, long count) { (void)a; (void)b; (void)count; __builtin_trap(); }
void fute_avx2_l2sq_batch(const float *q, const void *const *v, long n, long count, float *out) {
    (void)q; (void)v; (void)n; (void)count; (void)out; __builtin_trap();
}
void fute_avx2_negated_dot_batch(const float *q, const void *const *v, long n, long count, float *out) {
    (void)q; (void)v; (void)n; (void)count; (void)out; __builtin_trap();
}
void fute_avx2_unit_cosine_batch(const float *q, const void *const *v, long n, long count, float *out) {
    (void)q; (void)v; (void)n; (void)count; (void)out; __builtin_trap();
}
float fute_avx2_half_l2sq(const float *a, const void *b, long count) { (void)a; (void)b; (void)count; __builtin_trap(); }
float fute_avx2_half_dot(const float *a, const void *b, long count) { (void)a; (void)b; (void)count; __builtin_trap(); }
void fute_avx2_half_l2sq_batch(const float *q, const void *const *v, long n, long count, float *out) {
    (void)q; (void)v; (void)n; (void)count; (void)out; __builtin_trap();
}
void fute_avx2_half_negated_dot_batch(const float *q, const void *const *v, long n, long count, float *out) {
    (void)q; (void)v; (void)n; (void)count; (void)out; __builtin_trap();
}
void fute_avx2_half_unit_cosine_batch(const float *q, const void *const *v, long n, long count, float *out) {
    (void)q; (void)v; (void)n; (void)count; (void)out; __builtin_trap();
}
void fute_avx2_decode_halves(const void *source, float *target, long count) { (void)source; (void)target; (void)count; __builtin_trap(); }
#endif

int fute_kernels_environment_forces_portable(void) {
    const char *forced = getenv("FUTE_KERNELS");
    return forced && strcmp(forced, "portable") == 0;
}

int fute_kernels_select(void) {
    int s = fute_kernels_environment_forces_portable() ? 0 : fute_avx2_fma_supported();
    // Racing first calls compute the same answer; the store only publishes it.
    __atomic_store_n(&fute_kernels_selection, s, __ATOMIC_RELAXED);
    return s;
}

int fute_kernels_force(int selection) {
    if (selection < 0) return fute_kernels_select();
    int s = selection > 0 ? fute_avx2_fma_supported() : 0;
    __atomic_store_n(&fute_kernels_selection, s, __ATOMIC_RELAXED);
    return s;
}
