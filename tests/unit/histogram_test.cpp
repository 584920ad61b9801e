#include "torvyn/core/histogram.hpp"

#include <gtest/gtest.h>

namespace torvyn {
namespace {

TEST(Histogram, ExactBelowSixtyFour) {
    Histogram h;
    for (std::uint64_t v = 1; v <= 50; ++v) {
        h.record(v);
    }
    EXPECT_EQ(h.count(), 50u);
    EXPECT_EQ(h.min(), 1u);
    EXPECT_EQ(h.max(), 50u);
    EXPECT_EQ(h.percentile(0.5), 25u);
    EXPECT_DOUBLE_EQ(h.mean(), 25.5);
}

TEST(Histogram, PercentilesWithinTwoPercent) {
    Histogram h;
    for (std::uint64_t v = 1; v <= 100000; ++v) {
        h.record(v * 10);  // 10 ns .. 1 ms, uniform
    }
    for (const double q : {0.5, 0.9, 0.99, 0.999}) {
        const double exact = q * 1e6;
        const double got = static_cast<double>(h.percentile(q));
        EXPECT_NEAR(got, exact, exact * 0.02) << "q=" << q;
    }
    EXPECT_EQ(h.max(), 1000000u);
    EXPECT_EQ(h.percentile(1.0), 1000000u);
}

TEST(Histogram, MergeAddsCounts) {
    Histogram a;
    Histogram b;
    a.record(100);
    b.record(1000);
    b.record(2000);
    a.merge(b);
    EXPECT_EQ(a.count(), 3u);
    EXPECT_EQ(a.min(), 100u);
    EXPECT_EQ(a.max(), 2000u);
    std::uint64_t total = 0;
    for (const auto& bucket : a.buckets()) {
        EXPECT_LE(bucket.lo, bucket.hi);
        total += bucket.count;
    }
    EXPECT_EQ(total, 3u);
}

TEST(Histogram, EmptyIsZero) {
    Histogram h;
    EXPECT_EQ(h.percentile(0.99), 0u);
    EXPECT_EQ(h.max(), 0u);
    EXPECT_TRUE(h.buckets().empty());
}

}  // namespace
}  // namespace torvyn
