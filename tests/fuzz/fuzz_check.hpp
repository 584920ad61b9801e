// What the fuzz targets assert: a broken invariant aborts, so libFuzzer
// keeps the input that broke it (and the regression run fails on it).
#pragma once

#include <cstdio>
#include <cstdlib>

#define TORVYN_FUZZ_CHECK(cond)                                                               \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            std::fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
            std::abort();                                                                     \
        }                                                                                     \
    } while (0)
