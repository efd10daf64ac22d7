#ifndef FUTE_COPENBLAS_SHIM_H
#define FUTE_COPENBLAS_SHIM_H
#include <cblas.h>
/* openblas_set_num_threads is OpenBLAS-specific; declared by its cblas.h. */

/* Cache prefetch for the graph search (Swift has no prefetch intrinsic); used by Kernels. */
static inline void fute_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }
#endif
