// A latency histogram with log-linear buckets: exact below 64, then 64
// buckets per power of two (relative error under 1.6%), up to 2^48.
// Recording is a few integer operations; no allocation after construction.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <limits>
#include <vector>

namespace torvyn {

class Histogram {
public:
    static constexpr int kSubBits = 6;
    static constexpr std::uint64_t kSub = 1ull << kSubBits;
    static constexpr int kMaxExp = 48;
    static constexpr std::size_t kBuckets = kSub + (kMaxExp - kSubBits) * kSub;

    Histogram() : counts_(kBuckets, 0) {}

    void record(std::uint64_t v, std::uint64_t times = 1) {
        counts_[index(v)] += times;
        count_ += times;
        sum_ += v * times;
        min_ = v < min_ ? v : min_;
        max_ = v > max_ ? v : max_;
    }

    // The same distribution with every value multiplied by `factor` (e.g.
    // ticks to nanoseconds); exact to the bucket width.
    [[nodiscard]] Histogram scaled(double factor) const {
        Histogram out;
        for (std::size_t i = 0; i < kBuckets; ++i) {
            if (counts_[i] != 0) {
                const double mid = static_cast<double>(lower(i) + (upper(i) - lower(i)) / 2);
                out.record(static_cast<std::uint64_t>(mid * factor), counts_[i]);
            }
        }
        if (count_ != 0) {
            out.min_ = static_cast<std::uint64_t>(static_cast<double>(min_) * factor);
            out.max_ = static_cast<std::uint64_t>(static_cast<double>(max_) * factor);
            out.sum_ = static_cast<std::uint64_t>(static_cast<double>(sum_) * factor);
        }
        return out;
    }

    void merge(const Histogram& o) {
        for (std::size_t i = 0; i < kBuckets; ++i) {
            counts_[i] += o.counts_[i];
        }
        count_ += o.count_;
        sum_ += o.sum_;
        min_ = o.min_ < min_ ? o.min_ : min_;
        max_ = o.max_ > max_ ? o.max_ : max_;
    }

    [[nodiscard]] std::uint64_t count() const { return count_; }
    [[nodiscard]] std::uint64_t max() const { return count_ ? max_ : 0; }
    [[nodiscard]] std::uint64_t min() const { return count_ ? min_ : 0; }
    [[nodiscard]] double mean() const {
        return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0;
    }

    // The value below which `q` (0..1) of the recordings fall (bucket midpoint).
    [[nodiscard]] std::uint64_t percentile(double q) const {
        if (count_ == 0) {
            return 0;
        }
        const auto target = static_cast<std::uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < kBuckets; ++i) {
            seen += counts_[i];
            if (seen >= target) {
                const std::uint64_t lo = lower(i);
                const std::uint64_t mid = lo + (upper(i) - lo) / 2;
                return mid > max_ ? max_ : mid;
            }
        }
        return max_;
    }

    // Non-empty buckets as (lower bound, upper bound, count), for charts.
    struct Bucket {
        std::uint64_t lo;
        std::uint64_t hi;
        std::uint64_t count;
    };
    [[nodiscard]] std::vector<Bucket> buckets() const {
        std::vector<Bucket> out;
        for (std::size_t i = 0; i < kBuckets; ++i) {
            if (counts_[i] != 0) {
                out.push_back({lower(i), upper(i), counts_[i]});
            }
        }
        return out;
    }

private:
    static std::size_t index(std::uint64_t v) {
        if (v < kSub) {
            return static_cast<std::size_t>(v);
        }
        const int exp = static_cast<int>(std::bit_width(v)) - 1;  // v in [2^exp, 2^(exp+1))
        if (exp >= kMaxExp) {
            return kBuckets - 1;
        }
        const std::uint64_t sub = (v >> (exp - kSubBits)) & (kSub - 1);
        return static_cast<std::size_t>(kSub + (exp - kSubBits) * kSub + sub);
    }
    static std::uint64_t lower(std::size_t i) {
        if (i < kSub) {
            return i;
        }
        const std::size_t exp = (i - kSub) / kSub + kSubBits;
        const std::uint64_t sub = (i - kSub) % kSub;
        return (1ull << exp) + (sub << (exp - kSubBits));
    }
    static std::uint64_t upper(std::size_t i) {
        if (i < kSub) {
            return i;
        }
        const std::size_t exp = (i - kSub) / kSub + kSubBits;
        return lower(i) + (1ull << (exp - kSubBits)) - 1;
    }

    std::vector<std::uint64_t> counts_;
    std::uint64_t count_ = 0;
    std::uint64_t sum_ = 0;
    std::uint64_t min_ = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t max_ = 0;
};

}  // namespace torvyn
