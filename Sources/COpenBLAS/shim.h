#ifndef FUTE_COPENBLAS_SHIM_H
#define FUTE_COPENBLAS_SHIM_H
#include <cblas.h>
/* openblas_set_num_threads is OpenBLAS-specific; declared by its cblas.h. */
#endif
