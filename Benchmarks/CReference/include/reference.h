#ifndef FUTE_REFERENCE_H
#define FUTE_REFERENCE_H
float fute_ref_l2sq(const float *a, const float *b, int n);
#endif
