#include "reference.h"
float fute_ref_l2sq(const float *a, const float *b, int n) {
    float s = 0; for (int i = 0; i < n; i++) { float d = a[i] - b[i]; s += d * d; } return s;
}
