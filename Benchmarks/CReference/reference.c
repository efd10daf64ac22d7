#include "reference.h"
#include <math.h>

float fute_ref_l2sq(const float *a, const float *b, int n) {
    float s = 0; for (int i = 0; i < n; i++) { float d = a[i] - b[i]; s += d * d; } return s;
}

float fute_ref_dot(const float *a, const float *b, int n) {
    float s = 0; for (int i = 0; i < n; i++) { s += a[i] * b[i]; } return s;
}

float fute_ref_cosine_distance(const float *a, const float *b, int n) {
    float d = 0, na = 0, nb = 0;
    for (int i = 0; i < n; i++) { d += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
    float den = sqrtf(na * nb);
    if (!(den > 0)) return 1.0f;
    float r = 1.0f - d / den;
    return r < 0 ? 0 : (r > 2 ? 2 : r);
}

float fute_ref_l2sq_fast(const float *a, const float *b, int n) {
#pragma clang fp reassociate(on) contract(fast)
    float s = 0; for (int i = 0; i < n; i++) { float d = a[i] - b[i]; s += d * d; } return s;
}

float fute_ref_dot_fast(const float *a, const float *b, int n) {
#pragma clang fp reassociate(on) contract(fast)
    float s = 0; for (int i = 0; i < n; i++) { s += a[i] * b[i]; } return s;
}

float fute_ref_cosine_distance_fast(const float *a, const float *b, int n) {
#pragma clang fp reassociate(on) contract(fast)
    float d = 0, na = 0, nb = 0;
    for (int i = 0; i < n; i++) { d += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
    float den = sqrtf(na * nb);
    if (!(den > 0)) return 1.0f;
    float r = 1.0f - d / den;
    return r < 0 ? 0 : (r > 2 ? 2 : r);
}
