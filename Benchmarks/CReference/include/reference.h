#ifndef FUTE_REFERENCE_H
#define FUTE_REFERENCE_H
/* Plain C kernels compiled -O3 -march=native: the yardstick for the Swift SIMD kernels. */
float fute_ref_l2sq(const float *a, const float *b, int n);
float fute_ref_dot(const float *a, const float *b, int n);
float fute_ref_cosine_distance(const float *a, const float *b, int n);
/* Same loops with reassociation allowed (what -ffast-math gives): clang vectorises them. */
float fute_ref_l2sq_fast(const float *a, const float *b, int n);
float fute_ref_dot_fast(const float *a, const float *b, int n);
float fute_ref_cosine_distance_fast(const float *a, const float *b, int n);
#endif
