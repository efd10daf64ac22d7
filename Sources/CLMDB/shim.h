#ifndef FUTE_CLMDB_SHIM_H
#define FUTE_CLMDB_SHIM_H
#include <lmdb.h>
#endif
